"""Where the demo lives (``SLAWATCH_DEMO_DIR``), its ports, and which services
are broken. ``slawatch demo break mail`` writes a flag file that the running
demo services read on every connection, so the two processes share nothing but
a folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# what ``slawatch demo break SERVICE`` does to it
BREAKS = {
    "mail": "SMTP answers 421 and IMAP says BYE",
    "server": "the HTTPS site answers 503",
    "sms": "the gateway accepts messages but never delivers them (its target probes 07:00-22:30 Beijing time "
           "only, inolink-sms 一.3)",
}
SERVICES = tuple(BREAKS)
# offsets from SLAWATCH_DEMO_PORT_BASE, chosen to echo the usual port numbers
OFFSETS = {"smtp": 25, "imap": 43, "https": 44, "sms": 13}


@dataclass(frozen=True)
class Demo:
    dir: Path
    port_base: int
    host: str = "127.0.0.1"

    def port(self, name: str) -> int:
        return self.port_base + OFFSETS[name]

    @property
    def ca_file(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def tickets_mbox(self) -> Path:
        return self.dir / "tickets.mbox"

    def _flag(self, service: str) -> Path:
        if service not in SERVICES:
            raise ValueError(f"unknown demo service {service!r} (known: {', '.join(SERVICES)})")
        return self.dir / f"broken-{service}"

    def is_broken(self, service: str) -> bool:
        return self._flag(service).exists()

    def set_broken(self, service: str, broken: bool) -> None:
        flag = self._flag(service)
        if broken:
            self.dir.mkdir(parents=True, exist_ok=True)
            flag.touch()
        else:
            flag.unlink(missing_ok=True)


def demo_of(settings) -> Demo:
    return Demo(Path(settings.demo_dir).resolve(), settings.demo_port_base)
