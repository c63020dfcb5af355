"""Storage: SQLModel tables, the async engine, Alembic migrations."""
