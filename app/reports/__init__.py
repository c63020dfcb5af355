"""Renderers: a template as text (`slawatch rules show`) and JSON, and the customer's statement
(HTML on Jinja2, PDF by WeasyPrint). Used by the API and the CLI alike."""
