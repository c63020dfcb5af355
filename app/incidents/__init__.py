"""Incidents: detection from probe results, the allowed transitions, the timeline."""
