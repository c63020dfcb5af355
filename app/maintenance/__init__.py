"""Planned maintenance as announced to customers (issue 19)."""
