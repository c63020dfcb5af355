"""The FastAPI application."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

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
from app.api import intake as intake_api
from app.api import maintenance as maintenance_api
from app.api import metrics as metrics_api
from app.api import oncall as oncall_api
from app.api import tickets as tickets_api
from app.api.limits import BodyLimit
from app.api.openapi import declare
from app.api.ratelimit import RateLimit
from app.portal import ack as portal_ack
from app.portal import feeds as portal_feeds
from app.portal import links as portal_links
from app.portal import noc as portal_noc
from app.portal import pages as portal_pages
from app.portal.web import SignInNeeded, to_signin
from app.service import Service
from app.settings import Settings, get_settings

# what the routes read from the process (request.app.state.<name>)
SHARED = ("settings", "engine", "sessions", "read_engine", "vault", "rules", "probe_modules", "sms_relay", "pdf",
          "evaluation_errors", "live", "sla_metrics", "metrics_registry", "probe_metrics")


def create_app(settings: Settings | None = None, worker: bool = False, tickets: bool = False,
               service: Service | None = None) -> FastAPI:
    """Routes and error handlers over a ``Service`` (built here from ``settings``
    unless given), which the app's lifespan starts and stops."""
    service = service or Service(settings or get_settings(), worker=worker, tickets=tickets)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await service.start()
        yield
        await service.close()

    # /docs and /redoc from the packaged Swagger UI and ReDoc files: they work with no network
    app = FastAPIOffline(title="slawatch", version="0.1.0", lifespan=lifespan, static_url="/docs-static",
                         description="SLA windows, credits, caps and termination rights for IT-service contracts.")
    app.state.service = service
    for name in SHARED:
        setattr(app.state, name, getattr(service, name))
    settings = service.settings
    app.state.probe_gate = probe.ProbeGate(settings.probe_allow_list(), settings.probe_concurrency)
    app.state.limits = {"claims": RateLimit("claims", settings.claims_per_hour),
                        "statements": RateLimit("statements", settings.statements_per_hour)}
    problems.install(app)
    app.add_exception_handler(SignInNeeded, to_signin)
    app.mount("/portal/static", StaticFiles(packages=[("app.portal", "static")]), name="portal-static")
    app.add_middleware(BodyLimit)
    app.include_router(evaluations.router)
    app.include_router(templates.router)
    app.include_router(probe.router)
    app.include_router(tickets_api.notifications)
    for module in (customers, contracts, statement, ledger, targets, incidents, tickets_api, sms, health,
                   metrics_api, admin, tokens, oncall_api, intake_api, maintenance_api, portal_links, portal_pages,
                   portal_noc, portal_feeds, portal_ack):
        app.include_router(module.router)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(evaluations.SCHEMA_DEFS)
            app.openapi_schema = declare(schema)
        return app.openapi_schema

    app.openapi = openapi
    return app
