"""``ProbeResult`` and ``Run``, the phase stopwatch every probe uses.

A probe never raises for a network or protocol failure: ``Run.guard`` turns the
exception into a short, stable, machine-matchable ``error`` (``refused``,
``timeout:tls``, ``tls:hostname``, ``auth_failed``, ``bad_status:503``, …)."""
from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

UTC = timezone.utc


@dataclass(slots=True)
class ProbeResult:
    ok: bool
    started_at: datetime  # aware UTC
    duration_seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # keys with "_": for /probe's series only, never stored
    rejected: bool = False  # an SMS refused for its content: the customer's (inolink-sms 二.9), not an outage
    location: str = ""
    skipped: bool = False  # not run (an SMS outside its send window): neither up nor down

    def to_dict(self) -> dict:
        return {"ok": self.ok, "started_at": self.started_at.isoformat(), "duration_seconds": self.duration_seconds,
                "phases": self.phases, "error": self.error,
                "detail": {k: v for k, v in self.detail.items() if not k.startswith("_")}, "rejected": self.rejected,
                "location": self.location, "skipped": self.skipped}


class ProbeFailure(Exception):
    """Raised inside a probe to stop with a stable error code."""

    def __init__(self, error: str, rejected: bool = False, **detail):
        super().__init__(error)
        self.error, self.rejected, self.detail = error, rejected, detail


class Run:
    """Times phases; ``phase(name)`` starts one (ending the previous)."""

    __slots__ = ("started_at", "t0", "mark", "current", "phases", "detail")

    def __init__(self) -> None:
        self.started_at = datetime.now(UTC)
        self.t0 = self.mark = time.perf_counter()
        self.current = "setup"
        self.phases: dict[str, float] = {}
        self.detail: dict[str, Any] = {}

    def phase(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[self.current] = self.phases.get(self.current, 0.0) + (now - self.mark)
        self.current, self.mark = name, now

    def _close(self) -> float:
        now = time.perf_counter()
        self.phases[self.current] = self.phases.get(self.current, 0.0) + (now - self.mark)
        self.mark = now
        return now - self.t0

    def ok(self, **detail) -> ProbeResult:
        self.detail.update(detail)
        return ProbeResult(True, self.started_at, self._close(), self.phases, None, self.detail)

    def fail(self, error: str, rejected: bool = False, **detail) -> ProbeResult:
        self.detail.update(detail)
        return ProbeResult(False, self.started_at, self._close(), self.phases, error, self.detail, rejected)

    def skip(self, reason: str, **detail) -> ProbeResult:
        self.detail.update(detail)
        return ProbeResult(False, self.started_at, self._close(), self.phases, f"skipped:{reason}", self.detail,
                           skipped=True)

    def error_for(self, exc: BaseException) -> str:
        return classify(exc, self.current)


def causes(exc: BaseException):
    """The exception and what it wraps (libraries wrap socket errors in their own)."""
    seen = 0
    while exc is not None and seen < 10:
        yield exc
        exc = exc.__cause__ or exc.__context__
        seen += 1


def connect_error(exc: BaseException) -> str | None:
    """``refused`` when a wrapped cause was a refused connection."""
    return "refused" if any(isinstance(e, ConnectionRefusedError) for e in causes(exc)) else None


# complexity 18, kept: one table from exception type to stable error code, read top to bottom
def classify(exc: BaseException, phase: str) -> str:
    """A stable error code for a network or protocol exception."""
    if isinstance(exc, ProbeFailure):
        return exc.error
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f"timeout:{phase}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        msg = (exc.verify_message or str(exc)).lower()
        if "hostname" in msg or "ip address mismatch" in msg:
            return "tls:hostname"
        if "expired" in msg:
            return "tls:expired"
        if "self-signed" in msg or "unable to get local issuer" in msg:
            return "tls:untrusted"
        return "tls:verify"
    if isinstance(exc, ssl.SSLError):
        return "tls:handshake"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, (asyncio.IncompleteReadError, EOFError, BrokenPipeError)):
        return f"closed:{phase}"
    if isinstance(exc, socket.gaierror):
        return "resolve:failed"
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "unreachable"
        if exc.errno == errno.ECONNREFUSED:
            return "refused"
        return f"os:{errno.errorcode.get(exc.errno, exc.errno)}"
    return f"error:{type(exc).__name__}"


async def guarded(run: Run, body, timeout: float, translate=None) -> ProbeResult:
    """Run ``body()`` (returns a ProbeResult) under the timeout; any failure
    becomes a failed result, never an exception. ``translate(exc)`` may give a
    library's own exceptions their stable code (or None for the default)."""
    try:
        async with asyncio.timeout(timeout):
            return await body()
    except ProbeFailure as exc:
        return run.fail(exc.error, exc.rejected, **exc.detail)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is a result
        code = (translate(exc) if translate else None) or run.error_for(exc)
        return run.fail(code, exception=str(exc)[:200])
