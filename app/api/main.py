"""The FastAPI application."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.api import evaluations, probe, problems, templates
from app.contracts.rules import load_rules
from app.probing.modules import load_modules
from app.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="slawatch", version="0.1.0",
                  description="SLA windows, credits, caps and termination rights for IT-service contracts.")
    app.state.settings = settings
    app.state.rules = load_rules(settings.rules_dir)
    app.state.probe_modules = load_modules(settings.probe_modules)
    problems.install(app)
    app.include_router(evaluations.router)
    app.include_router(templates.router)
    app.include_router(probe.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        return {"status": "ok"}

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(evaluations.SCHEMA_DEFS)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    return app
