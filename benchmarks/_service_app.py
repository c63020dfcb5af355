"""The real app plus a bare FastAPI endpoint, served side by side for benchmarks/service.py."""
from app.api.main import create_app

app = create_app()


@app.get("/bare")
async def bare() -> dict:
    return {"ok": True}
