"""The rules' life in a running process: reloaded on request or SIGHUP, and the
PRC calendar's next missing year announced at start and daily (SEMANTICS §2:
a year is never guessed, so its file must arrive in time)."""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import datetime

from app.calendars.zones import PRC
from app.contracts.rules import Rules, reload_rules
from app.contracts.yamlfile import RulesError
from app.pause import stopped_within

log = logging.getLogger("slawatch.rules")
DAY = 86400.0


def today_in_prc():
    return datetime.now(PRC).date()


def reload_and_report(rules: Rules) -> dict:
    """Reload (raises ``RulesError``, the running set kept) and say what is loaded."""
    reload_rules(rules)
    warning = rules.schedule.missing_year_warning(today_in_prc())
    log.info("rules reloaded: %d files, %d templates, calendar files for %s", len(rules.files),
             len(rules.templates), ", ".join(map(str, sorted(rules.schedule.overrides))) or "no year")
    if warning:
        log.warning("%s", warning)
    return {"files": len(rules.files), "templates": sorted(rules.templates),
            "calendar_years": sorted(rules.schedule.overrides), "warning": warning}


def on_sighup(rules: Rules, reloaded: Callable[[], None] = lambda: None,
              also: Callable[[], None] = lambda: None) -> None:
    """Reload on SIGHUP (then ``reloaded()``); a bad set is logged with its file:line and not applied.
    ``also()`` reloads what else the process reads from files (the probe modules), whatever the rules did."""
    def handler() -> None:
        also()
        try:
            reload_and_report(rules)
            reloaded()
        except RulesError as exc:
            log.error("rules not reloaded, the running set stays: %s", exc)
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, handler)
    except (RuntimeError, ValueError, NotImplementedError):  # not the main thread (an embedded test client)
        pass


async def announce_missing_year(rules: Rules, stop: asyncio.Event, every: float = DAY) -> None:
    """Log the missing-year warning at start and then daily, while it holds."""
    while not stop.is_set():
        warning = rules.schedule.missing_year_warning(today_in_prc())
        if warning:
            log.warning("%s", warning)
        await stopped_within(stop, every)
