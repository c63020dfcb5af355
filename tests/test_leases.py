"""Target leases on PostgreSQL: held while the owner's heartbeat is current, so a
renewal writes one row however many targets a worker holds; a fair share when a
worker joins, a hand-over one interval later, orphans taken when a heartbeat
lapses, and a worker back from a stall never holds what another took."""
import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from app.storage import leases
from app.storage.db import sessions
from app.storage.tables import ContractRow, Customer, TargetRow
from tests.peers.pgschema import fresh_schema

pytestmark = pytest.mark.peers
T = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
LEASE = 30.0


def test_leases_follow_heartbeats_and_a_renewal_writes_no_target_row():
    async def go():
        async with fresh_schema("leases") as engine:
            db = sessions(engine)
            async with db() as s:
                s.add(Customer(id="a", name="a"))
                await s.flush()
                s.add(ContractRow(id="c", customer_id="a", template="ningbo-colo", body={}))
                await s.flush()
                s.add_all(TargetRow(id=f"t{i}", contract_id="c", protocol="tcp", category="server_fault",
                                    interval=60, timeout=5, config={"host": "127.0.0.1", "port": 9})
                          for i in range(8))
                await s.commit()

            async def claim(name, at, known=frozenset()):
                async with db() as s:
                    return (await leases.claim(s, name, LEASE, at, set(known)))[0]

            async def versions():  # a row's xmin changes with every write or lock of it
                async with engine.connect() as conn:
                    return dict((await conn.execute(text("SELECT id, xmin::text FROM targets"))).all())

            out = {"a": await claim("a", T)}
            before = await versions()
            out["a renewed"] = await claim("a", T + timedelta(seconds=10), out["a"])
            out["untouched"] = await versions() == before
            out["b joins"] = await claim("b", T + timedelta(seconds=11))  # a's surplus is not free yet
            out["a shares"] = await claim("a", T + timedelta(seconds=12), out["a"])
            for at in (40, 70):
                await claim("a", T + timedelta(seconds=at), out["a shares"])
            out["b early"] = await claim("b", T + timedelta(seconds=71))
            out["b later"] = await claim("b", T + timedelta(seconds=73))  # one interval after the hand-over
            # then a stalls: its heartbeat (last at +70 s) lapses at +100 s, and b takes its targets
            out["b alone"] = await claim("b", T + timedelta(seconds=101), out["b later"])
            out["a back"] = await claim("a", T + timedelta(seconds=102), out["a shares"])
            return out
    out = asyncio.run(go())
    every = {f"t{i}" for i in range(8)}
    assert out["a"] == every and out["a renewed"] == every
    assert out["untouched"]  # renewing 8 leases wrote the heartbeat only
    assert out["b joins"] == set()
    assert out["a shares"] == {f"t{i}" for i in range(4)}
    assert out["b early"] == set() and out["b later"] == every - out["a shares"]
    assert out["b alone"] == every  # the orphans of a lapsed heartbeat
    assert out["a back"] == set()  # nothing b holds; a takes its share again only from free targets
