"""``/healthz``: the process is up. ``/readyz``: the database answers and its
migrations are current."""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api import schemas as S
from app.storage.db import current_revision, head_revision

router = APIRouter(tags=["health"])
log = logging.getLogger("slawatch.api")


@router.get("/healthz", response_model=S.Health)
def healthz() -> dict:
    return {"status": "ok"}


READY_SECONDS = 2.0
MIN_FREE_BYTES = 64 * 1024 * 1024  # below this, writes (results, spool) are about to fail


def _disk_problem(settings) -> str | None:
    """``disk_full`` or ``disk_read_only`` where the results' spool (and an SQLite
    database) live; None when writes can go on."""
    folder = Path(settings.data_dir)
    probe_dir = folder if folder.exists() else folder.resolve().parent
    try:
        if shutil.disk_usage(probe_dir).free < MIN_FREE_BYTES:
            return "disk_full"
    except OSError:
        return None
    if not os.access(probe_dir, os.W_OK):
        return "disk_read_only"
    return None


@router.get("/readyz", response_model=S.Ready,
            responses={503: {"model": S.Ready, "description": "Not ready, with a reason code"}})
async def readyz(request: Request):
    """Anonymous: a reason code, never the database's own words (they name hosts and users)."""
    try:
        current = await asyncio.wait_for(current_revision(request.app.state.engine), READY_SECONDS)
    except TimeoutError:
        return JSONResponse({"status": "unavailable", "reason": "database_timeout"}, status_code=503)
    except Exception:  # any database failure means not ready
        log.warning("readiness: the database cannot be reached", exc_info=True)
        return JSONResponse({"status": "unavailable", "reason": "database_unreachable"}, status_code=503)
    disk = _disk_problem(request.app.state.settings)
    if disk is not None:
        return JSONResponse({"status": "unavailable", "reason": disk}, status_code=503)
    head = head_revision()
    if current != head:
        return JSONResponse({"status": "migrations pending", "current": current, "head": head}, status_code=503)
    return {"status": "ready", "migration": current}
