"""The process: what ``slawatch run``, ``slawatch api`` and ``slawatch worker``
start and stop — the database engine and sessions, the rules, the secrets
vault, probe modules, the shared live SLA state, metrics, and (by role) the
probe worker, the ticket loop and the demo. The web app (``app.api.main``) is
only routes and error handlers over a ``Service``."""
from __future__ import annotations

import asyncio
import gc
import logging

from prometheus_client import CollectorRegistry

from app.contracts.lifecycle import announce_missing_year, on_sighup
from app.contracts.rules import load_rules
from app.contracts.yamlfile import RulesError
from app.evaluation.health import EvaluationErrors
from app.gcpolicy import keep_collections_short
from app.live import LiveState
from app.metrics import ProbeMetrics, SchedulerHealth, SlaSnapshot
from app.probing.modules import LoadedModules, ModulesHealth
from app.probing.sms_relay import relay_for
from app.probing.worker import LEASE_SECONDS, Worker
from app.reports.pdf import PdfRenderer
from app.settings import Settings
from app.storage.db import autocommit, is_shared, make_engine, sessions

log = logging.getLogger("slawatch.service")


class Service:
    def __init__(self, settings: Settings, worker: bool = False, tickets: bool = False):
        """``worker``: probe the stored targets and send tickets (``slawatch run``);
        ``tickets``: send tickets while holding the sender's lock (``slawatch api``)."""
        self.settings, self.with_worker, self.with_tickets = settings, worker, tickets or worker
        self.engine = make_engine(settings.database_url, settings.database_schema)
        self.sessions = sessions(self.engine)
        self.read_engine = autocommit(self.engine)  # read-only routes: Core connections
        self.vault = settings.vault()  # secrets at rest: sealed on write, opened only where used
        self.rules = load_rules(settings.rules_dir)
        self.probe_modules = LoadedModules(settings.probe_modules)
        self.sms_relay = relay_for(self.engine)
        self.pdf = PdfRenderer()
        self.evaluation_errors = EvaluationErrors()  # one record: metrics, tickets and the API agree
        self.live = LiveState(self.sessions, self.rules, self.evaluation_errors,
                              warn_percent=settings.ticket_warn_percent)
        self.sla_metrics = SlaSnapshot(self.live, settings.metrics_refresh_seconds)
        self.metrics_registry = CollectorRegistry()
        self.probe_metrics = ProbeMetrics()  # rendered by hand: app.api.metrics
        self.metrics_registry.register(SchedulerHealth(self))
        self.metrics_registry.register(ModulesHealth(self.probe_modules))
        self.worker: Worker | None = None
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.demo = None
        self.ticket_loop = None
        self.retention = None

    def reload_modules(self) -> None:
        """The probe modules file read again (SIGHUP): a bad one is logged and the running set stays."""
        try:
            self.probe_modules.reload()
            log.info("probe modules reloaded: %d from %s", len(self.probe_modules), self.probe_modules.path)
        except RulesError as exc:
            log.error("probe modules not reloaded, the running set stays: %s", exc)

    async def start(self) -> None:
        self.stop = asyncio.Event()
        self.tasks = [asyncio.create_task(self.sla_metrics.run(self.stop)),
                      asyncio.create_task(announce_missing_year(self.rules, self.stop)),
                      asyncio.create_task(keep_collections_short(self.stop))]
        await self.rules_changed()
        on_sighup(self.rules, lambda: self.tasks.append(asyncio.create_task(self.rules_changed())),
                  also=self.reload_modules)
        if self.settings.demo:  # before the worker: it loads the demo targets this installs
            from app.demo.services import DemoServices
            self.demo = await DemoServices.start(self.settings, self.sessions, self.rules, self.vault)
        if self.with_worker:
            # on PostgreSQL it shares targets with any `slawatch worker` through leases
            self.worker = Worker(self.sessions, metrics=self.probe_metrics,
                                 lease_seconds=LEASE_SECONDS if is_shared(self.engine) else None,
                                 vault=self.vault, data_dir=self.settings.data_dir,
                                 name=self.settings.worker_name("run"), changed=self.live.invalidate)
            await self.worker.start()
        if self.with_tickets:
            from app.storage.locks import Leadership
            from app.storage.retention import Retention
            from app.tickets.loop import TicketLoop
            # one process sends tickets and rolls up old results: the holder of the lock
            leadership = Leadership(self.engine, self.settings.database_schema)
            self.ticket_loop = TicketLoop(self.live, self.sessions, self.settings, leadership, self.vault)
            self.retention = Retention(self.sessions, self.settings.results_retention, leadership.held,
                                       also=[self._purge_portal])
            self.tasks += [asyncio.create_task(self.ticket_loop.run(self.stop)),
                           asyncio.create_task(self.retention.run(self.stop))]
        # what start-up built (rules, calendars, routes) lives as long as the process:
        # keep it out of the collector's full passes, which otherwise show as tail latency
        gc.collect()
        gc.freeze()

    async def rules_changed(self) -> None:
        """After the rules are (re)loaded: the files' maintenance windows stored, every
        contract's state recomputed under the new rules."""
        from app.maintenance.store import sync_files

        await sync_files(self.sessions, self.rules.maintenance)
        self.live.invalidate()

    async def _purge_portal(self) -> None:
        from app.portal.tokens import purge_expired

        async with self.sessions() as db:
            await purge_expired(db)

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.worker is not None:
            await self.worker.close()
        if self.demo is not None:
            await self.demo.close()
        self.pdf.close()
        await self.engine.dispose()
