"""partition results by day (PostgreSQL)

``probe_results`` becomes a table partitioned by range on ``started_at``, one
partition a day (created a few days ahead, ``app.storage.partitions``) and a
default partition for anything else, so retention drops a whole day at once.
Its id becomes a bigint: at 10,000 targets a minute an int runs out in months.
The rows are moved over in the migration. SQLite: nothing to do (one process's
own file; retention deletes in batches there).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 22:10:00
"""
from datetime import date, datetime, timedelta, timezone

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None
KEEP_DAYS, AHEAD_DAYS = 40, 3  # daily partitions made here; older rows go to the default partition


def _day(d: date) -> tuple[str, str, str]:
    lo = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
    return f"probe_results_p{d:%Y%m%d}", lo.isoformat(), (lo + timedelta(days=1)).isoformat()


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE probe_results RENAME TO probe_results_unpartitioned")
    op.execute("ALTER TABLE probe_results_unpartitioned RENAME CONSTRAINT probe_results_pkey "
               "TO probe_results_unpartitioned_pkey")
    op.execute("ALTER INDEX ix_probe_results_target_started RENAME TO ix_probe_results_target_started_old")
    op.execute("ALTER INDEX ix_probe_results_started RENAME TO ix_probe_results_started_old")
    op.execute("CREATE TABLE probe_results (LIKE probe_results_unpartitioned INCLUDING DEFAULTS) "
               "PARTITION BY RANGE (started_at)")
    op.execute("ALTER TABLE probe_results ALTER COLUMN id TYPE bigint")
    op.execute("ALTER SEQUENCE probe_results_id_seq AS bigint OWNED BY probe_results.id")
    op.execute("ALTER TABLE probe_results ADD PRIMARY KEY (id, started_at)")
    op.execute("CREATE INDEX ix_probe_results_target_started ON probe_results (target_id, started_at)")
    op.execute("CREATE INDEX ix_probe_results_started ON probe_results (started_at)")
    op.execute("CREATE TABLE probe_results_default PARTITION OF probe_results DEFAULT")
    today = datetime.now(timezone.utc).date()
    for n in range(-KEEP_DAYS, AHEAD_DAYS + 1):
        name, lo, hi = _day(today + timedelta(days=n))
        op.execute(f"CREATE TABLE {name} PARTITION OF probe_results FOR VALUES FROM ('{lo}') TO ('{hi}')")
    op.execute("INSERT INTO probe_results SELECT * FROM probe_results_unpartitioned")
    op.execute("DROP TABLE probe_results_unpartitioned")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE probe_results RENAME TO probe_results_partitioned")
    op.execute("ALTER INDEX ix_probe_results_target_started RENAME TO ix_probe_results_target_started_p")
    op.execute("ALTER INDEX ix_probe_results_started RENAME TO ix_probe_results_started_p")
    op.execute("CREATE TABLE probe_results (LIKE probe_results_partitioned INCLUDING DEFAULTS)")
    op.execute("ALTER SEQUENCE probe_results_id_seq OWNED BY probe_results.id")
    op.execute("ALTER TABLE probe_results ADD PRIMARY KEY (id)")
    op.execute("CREATE INDEX ix_probe_results_target_started ON probe_results (target_id, started_at)")
    op.execute("CREATE INDEX ix_probe_results_started ON probe_results (started_at)")
    op.execute("INSERT INTO probe_results SELECT * FROM probe_results_partitioned")
    op.execute("DROP TABLE probe_results_partitioned")
