"""Bring your own monitoring's checks (issue 19): read another tool's configuration
and propose slawatch targets — one module per source, one signature:
``proposals(...) -> Proposals`` (targets as the API takes them, and what was skipped and why)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# basis: policy — a mail check opens mail incidents, anything else a service outage
CATEGORY = {"smtp": "mail_send_receive", "imap": "mail_send_receive", "pop3": "mail_send_receive",
            "mail_roundtrip": "mail_send_receive"}
DEFAULT_CATEGORY = "service_unavailable"


@dataclass
class Proposals:
    targets: list[dict] = field(default_factory=list)  # TargetCreate's fields
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why)


def ident(*parts: object) -> str:
    """A target id from a source's names: letters, digits, ``.``, ``_`` and ``-``, 64 at most."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(str(p) for p in parts)).strip("-.")
    return (text or "target")[:64]
