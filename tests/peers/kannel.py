"""A real Kannel SMS gateway (bearerbox + smsbox + the fake SMSC) on free loopback
ports, with its own config in a temp dir (shared/peers/README.md)."""
from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.peers.util import free_port, wait_port

USER, PASSWORD = "probe", "sms-secret"


@dataclass
class Kannel:
    dir: Path
    admin: int
    smsbox: int
    sendsms: int
    fake: int
    receiver_url: str
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms}"

    def _spawn(self, *args: str) -> subprocess.Popen:
        p = subprocess.Popen(list(args), cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def start(self) -> None:
        conf = str(self.dir / "kannel.conf")
        self._spawn("/usr/sbin/bearerbox", "-v", "1", conf)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.admin}/status.txt?password=adm", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("bearerbox did not start")
        self._spawn("/usr/sbin/smsbox", "-v", "1", conf)
        wait_port(self.sendsms, 15)
        # the fake SMSC connects to bearerbox and acknowledges what it is sent (-m 0: sends no MO)
        self._spawn("/usr/lib/kannel/test/fakesmsc", "-H", "127.0.0.1", "-r", str(self.fake), "-i", "0.1",
                    "-m", "0", "100 200 text nothing")
        time.sleep(0.5)

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()


def start_kannel(receiver_url: str) -> Kannel:
    d = Path(tempfile.mkdtemp(prefix="kn", dir="/tmp"))
    k = Kannel(d, free_port(), free_port(), free_port(), free_port(), receiver_url)
    (d / "kannel.conf").write_text(f"""
group = core
admin-port = {k.admin}
admin-interface = 127.0.0.1
admin-password = adm
status-password = adm
smsbox-port = {k.smsbox}
dlr-storage = internal
log-file = "{d}/bearerbox.log"
log-level = 1
box-allow-ip = "127.0.0.1"

group = smsc
smsc = fake
smsc-id = FAKE
port = {k.fake}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {k.smsbox}
sendsms-port = {k.sendsms}
sendsms-interface = 127.0.0.1
global-sender = 10690
log-file = "{d}/smsbox.log"
log-level = 1

group = sendsms-user
username = {USER}
password = {PASSWORD}

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{receiver_url}?from=%p&to=%P&text=%a"
""")
    k.start()
    return k
