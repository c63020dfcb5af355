"""The evaluation: windows, outage, credits, caps and termination rights.
Pure functions of (contract, template, incidents, period, at)."""
from app.evaluation.engine import evaluate

__all__ = ["evaluate"]
