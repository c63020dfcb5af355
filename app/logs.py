"""Logging set up once for every command: readable lines, and no secret in them.
A request line's query values named like secrets (a gateway's ``nonce``, a
``password``, a ``token``) are redacted; httpx's per-request lines (which carry
a Kannel password in the URL) are not written; database URLs are shown without
their password (``masked_url``)."""
from __future__ import annotations

import logging
import re

from sqlalchemy.engine import make_url

SECRET_PARAMS = re.compile(r"((?:^|[?&;])(?:nonce|password|passwd|pass|pwd|token|secret|key|sign|text)=)[^&;\s\"]*",
                           re.I)


def redact(text: str) -> str:
    return SECRET_PARAMS.sub(r"\1***", text)


# Prometheus's every-few-seconds requests: a line each would drown the log (a successful
# /probe is answered by app.api.probe.ProbeFastPath, which writes none)
SCRAPES = ("/metrics",)


class RedactQuery(logging.Filter):
    """The access log (uvicorn's, or ``slawatch run``'s in its format): ``(client, method,
    path?query, version, status)``. A
    scrape that succeeded is not written (blackbox_exporter logs none either)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 5:
            if str(record.args[2]).startswith(SCRAPES) and record.args[4] == 200:
                return False
            args = list(record.args)
            args[2] = redact(str(args[2]))
            record.args = tuple(args)
        return True


def masked_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL we can parse: show nothing of it
        return "(database URL)"


def configure(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)-5s %(name)s: %(message)s", datefmt="%H:%M:%S",
                        level=level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # "HTTP Request: GET …?password=…"
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").addFilter(RedactQuery())
    logging.getLogger("slawatch.access").addFilter(RedactQuery())  # slawatch run's (app.api.probe.logged)
