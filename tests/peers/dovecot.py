"""A real dovecot (IMAP, IMAPS, POP3, POP3S, LMTP) on free loopback ports, with
its own config in a temp dir (shared/peers/README.md has the facts)."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.peers.util import free_port, wait_banner

USER, PASSWORD = "alice", "secret"


@dataclass
class Dovecot:
    dir: Path
    imap: int
    imaps: int
    pop3: int
    pop3s: int
    lmtp: int
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(self.dir / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for port, banner in ((self.imap, b"* OK"), (self.pop3, b"+OK")):
            wait_banner(port, banner)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def start_dovecot(cert_pem: str, key_pem: str) -> Dovecot:
    d = Path(tempfile.mkdtemp(prefix="dc", dir="/tmp"))  # short: unix socket paths ≤ 108 bytes
    d.chmod(0o755)  # dovecot's auth process runs as its own user
    root = os.geteuid() == 0
    if root:
        uid = gid = 65534
        login_user, internal_user, internal_group = "dovenull", "dovecot", "dovecot"
    else:
        uid, gid = os.getuid(), os.getgid()
        login_user = internal_user = pwd.getpwuid(uid).pw_name
        internal_group = internal_user
    (d / "cert.pem").write_text(cert_pem)
    (d / "key.pem").write_text(key_pem)
    mail = d / "mail" / USER
    mail.mkdir(parents=True)
    (d / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{mail}\n")
    dc = Dovecot(d, *(free_port() for _ in range(5)))
    (d / "dovecot.conf").write_text(f"""
instance_name = slw{dc.imap}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {d}/users
}}
service anvil {{
  chroot =
  # no auth penalty: every test connects from 127.0.0.1, and one wrong
  # password must not delay the next test's login
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {dc.imap}
  }}
  inet_listener imaps {{
    port = {dc.imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {dc.pop3}
  }}
  inet_listener pop3s {{
    port = {dc.pop3s}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {dc.lmtp}
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@localhost
}}
""")
    if root:
        shutil.chown(d / "mail", uid, gid)
        shutil.chown(mail, uid, gid)
    dc.start()
    return dc
