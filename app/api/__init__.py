"""REST API: thin FastAPI routers per domain, problem+json errors."""
