"""The FastAPI application."""
from __future__ import annotations

import asyncio
import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from prometheus_client import CollectorRegistry

from app.api import (
    admin,
    contracts,
    customers,
    evaluations,
    health,
    incidents,
    ledger,
    probe,
    problems,
    sms,
    statement,
    targets,
    templates,
    tokens,
)
from app.api import metrics as metrics_api
from app.api import tickets as tickets_api
from app.api.limits import BodyLimit
from app.api.openapi import declare
from app.api.ratelimit import RateLimit
from app.contracts.lifecycle import announce_missing_year, on_sighup
from app.contracts.rules import load_rules
from app.evaluation.health import EvaluationErrors
from app.metrics import ProbeMetrics, SchedulerHealth, SlaSnapshot
from app.probing.modules import load_modules
from app.probing.sms_relay import relay_for
from app.reports.pdf import PdfRenderer
from app.settings import Settings, get_settings
from app.storage.db import autocommit, make_engine, sessions


def create_app(settings: Settings | None = None, worker: bool = False, tickets: bool = False) -> FastAPI:
    """The API; with ``worker`` it also probes the stored targets and sends tickets
    (``slawatch run``); with ``tickets`` it sends tickets when it holds the sender's
    lock (``slawatch api``: one of several on PostgreSQL)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.worker = None
        stop = asyncio.Event()
        snapshot = asyncio.create_task(app.state.sla_metrics.run(stop))
        announcing = asyncio.create_task(announce_missing_year(app.state.rules, stop))
        on_sighup(app.state.rules)
        sending = demo = None
        if settings.demo:  # before the worker: it loads the demo targets this installs
            from app.demo.services import DemoServices
            demo = await DemoServices.start(settings, app.state.sessions, app.state.rules, app.state.vault)
        if worker:
            from app.runtime import LEASE_SECONDS, Worker
            # on PostgreSQL it shares targets with any `slawatch worker` through leases
            shared = app.state.engine.dialect.name == "postgresql"
            app.state.worker = Worker(app.state.sessions, metrics=app.state.probe_metrics,
                                      lease_seconds=LEASE_SECONDS if shared else None, vault=app.state.vault,
                                      data_dir=settings.data_dir, name=settings.worker_name("run"))
            await app.state.worker.start()
        if worker or tickets:
            from app.tickets.loop import Leadership, TicketLoop
            loop = TicketLoop(app.state.sessions, app.state.rules, settings,
                              Leadership(app.state.engine, settings.database_schema), app.state.evaluation_errors,
                              app.state.vault)
            sending = asyncio.create_task(loop.run(stop))
        # what start-up built (rules, calendars, routes) lives as long as the process:
        # keep it out of the collector's full passes, which otherwise show as tail latency
        gc.collect()
        gc.freeze()
        yield
        stop.set()
        await snapshot
        await announcing
        if sending is not None:
            await sending
        if app.state.worker is not None:
            await app.state.worker.close()
        if demo is not None:
            await demo.close()
        app.state.pdf.close()
        await app.state.engine.dispose()

    app = FastAPI(title="slawatch", version="0.1.0", lifespan=lifespan,
                  description="SLA windows, credits, caps and termination rights for IT-service contracts.")
    app.state.engine = make_engine(settings.database_url, settings.database_schema)
    app.state.sessions = sessions(app.state.engine)
    app.state.read_engine = autocommit(app.state.engine)  # read-only routes: Core connections
    app.state.sms_relay = relay_for(app.state.engine)
    app.state.worker = None
    app.state.settings = settings
    app.state.vault = settings.vault()  # secrets at rest: sealed on write, opened only where used
    app.state.rules = load_rules(settings.rules_dir)
    app.state.probe_modules = load_modules(settings.probe_modules)
    app.state.probe_gate = probe.ProbeGate(settings.probe_allow_list(), settings.probe_concurrency)
    app.state.limits = {"claims": RateLimit("claims", settings.claims_per_hour),
                        "statements": RateLimit("statements", settings.statements_per_hour)}
    app.state.pdf = PdfRenderer()
    registry = app.state.metrics_registry = CollectorRegistry()
    app.state.probe_metrics = ProbeMetrics(registry)
    app.state.evaluation_errors = EvaluationErrors()  # one record: metrics, tickets and the API agree
    app.state.sla_metrics = SlaSnapshot(app.state.sessions, app.state.rules, settings.metrics_refresh_seconds,
                                        app.state.evaluation_errors)
    registry.register(SchedulerHealth(app))
    problems.install(app)
    app.add_middleware(BodyLimit)
    app.include_router(evaluations.router)
    app.include_router(templates.router)
    app.include_router(probe.router)
    for module in (customers, contracts, statement, ledger, targets, incidents, tickets_api, sms, health,
                   metrics_api, admin, tokens):
        app.include_router(module.router)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(evaluations.SCHEMA_DEFS)
            app.openapi_schema = declare(schema)
        return app.openapi_schema

    app.openapi = openapi
    return app
