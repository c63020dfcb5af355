"""Breach tickets: events found in the SLA state, an outbox, SMTP and webhook senders."""
