"""Settings, validated at start: only ``SLAWATCH_*`` environment variables."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "sla_rules"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLAWATCH_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    rules_dir: Path = DEFAULT_RULES
    log_level: str = "info"
    database_url: str = "sqlite+aiosqlite:///./slawatch.db"
    database_schema: str | None = None
    metrics_refresh_seconds: float = Field(15.0, gt=0)  # PostgreSQL: the schema to use (search_path)
    probe_modules: Path = Path(__file__).resolve().parent.parent / "probes" / "modules.yml"

    @field_validator("database_url")
    @classmethod
    def _database(cls, v: str) -> str:
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("expected sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return v

    @field_validator("rules_dir")
    @classmethod
    def _rules_dir(cls, v: Path) -> Path:
        if not (v / "templates").is_dir():
            raise ValueError(f"{v} has no templates/ folder")
        return v


def get_settings() -> Settings:
    return Settings()
