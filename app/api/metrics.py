"""``GET /metrics`` for Prometheus (see app/metrics.py for what is in it)."""
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.api.deps import scraper

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, dependencies=[Depends(scraper)])
def metrics(request: Request) -> Response:
    state = request.app.state
    # probe series written directly, the SLA picture pre-rendered at its refresh, scheduler health live
    body = state.probe_metrics.render().encode() + state.sla_metrics.text + generate_latest(state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
