"""The one live SLA state: computed once and shared by its readers, a write
marks its contract stale so the next read shows it, and a contract that cannot
be evaluated shows its reason while the others go on."""
from datetime import datetime, timedelta, timezone

import yaml
from conftest import ROOT, service_client


def test_readers_share_one_round_and_a_write_shows_at_once(tmp_path):
    client, _ = service_client(f"sqlite+aiosqlite:///{tmp_path}/live.db")
    with client:
        live = client.app.state.live
        live.max_age = 3600  # no round of its own during the test: only what the reads and writes do
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
        body["customer"] = "acme"
        assert client.post("/v1/contracts", json=body).status_code == 201
        assert client.get("/v1/windows").json()["items"] == []
        rounds = live.rounds
        for _ in range(3):  # the windows list, the breached filter and the metrics read the same round
            client.get("/v1/windows")
            client.get("/v1/incidents", params={"breached": "true"})
        client.portal.call(client.app.state.sla_metrics.refresh)
        assert live.rounds == rounds

        started = datetime.now(timezone.utc) - timedelta(hours=3)  # respond_1h breached long ago
        inc = client.post("/v1/incidents", json={"contract_id": body["id"], "category": "server_fault",
                                                 "started_at": started.isoformat()}).json()
        windows = client.get("/v1/windows").json()["items"]
        assert {w["incident_id"] for w in windows} == {inc["id"]}  # at once, not after max_age
        assert any(w["status"] == "breached" for w in windows)
        assert [i["id"] for i in client.get("/v1/incidents", params={"breached": "true"}).json()["items"]] == \
            [inc["id"]]
        assert client.get("/v1/incidents", params={"breached": "false"}).json()["items"] == []
        assert live.rounds == rounds  # only the written contract was recomputed

        client.post(f"/v1/incidents/{inc['id']}/classify", json={"attribution": "force_majeure"})
        statuses = {w["status"] for w in client.get("/v1/windows").json()["items"]}
        assert statuses == {"excluded"}  # the action shows at once too
        client.portal.call(client.app.state.sla_metrics.refresh)  # the metrics read the same, fresh state
        assert b'slawatch_window_breached{contract="demo-ningbo-colo",window="respond_1h"} 0.0' \
            in client.app.state.sla_metrics.text


def test_an_incident_the_worker_opens_shows_in_the_live_state_at_once(tmp_path):
    """The worker tells the live state which contract its detection changed: the NOC's
    windows list shows a probe-opened incident without waiting for the next round."""
    import asyncio

    from app.contracts.rules import load_rules
    from app.evaluation.health import EvaluationErrors
    from app.live import LiveState
    from app.probing.worker import Worker
    from app.storage.db import make_engine, sessions, upgrade
    from probes import TARGETS
    from probes.result import ProbeResult
    from probes.scheduler import Job
    from tests.peers.seed import seed_tcp_targets

    url = f"sqlite+aiosqlite:///{tmp_path}/w.db"
    upgrade(make_engine(url))

    async def go():
        engine = make_engine(url)
        try:
            db = sessions(engine)
            (row,) = await seed_tcp_targets(db, ["mx"], 25, interval=60, timeout=5)
            live = LiveState(db, load_rules(ROOT / "sla_rules"), EvaluationErrors(), max_age=3600)
            before = (await live.current()).states["c"].windows
            w = Worker(db, data_dir=tmp_path / "data", changed=live.invalidate)
            w.add(row)
            job = Job("mx/default", "tcp", TARGETS["tcp"].model_validate(row.config), 60, 5, "default",
                      {"target": "mx"})
            t0 = datetime.now(timezone.utc) - timedelta(minutes=10)
            for i in range(4):
                await w.sink(job, ProbeResult(False, t0 + timedelta(minutes=i), 0.01, {}, "refused", {}))
                await w.flush()
            after = (await live.current()).states["c"].windows
            return before, after, live.rounds
        finally:
            await engine.dispose()
    before, after, rounds = asyncio.run(go())
    assert before == () and after and {w.incident_id.split("@")[0] for w in after} == {"mx"}
    assert rounds == 1  # that contract recomputed, not a whole new round


def test_rounds_are_incremental_and_see_other_processes_writes(tmp_path):
    """After a full round, a round evaluates only what changed (any process's writes,
    found by the append-only ids) and what moves with time (an open incident); a
    contract at rest is not evaluated again."""
    import asyncio

    from sqlalchemy import text

    from app.contracts.rules import load_rules
    from app.evaluation.health import EvaluationErrors
    from app.incidents.service import open_incident
    from app.live import REFRESH, LiveState
    from app.storage.db import make_engine, sessions, upgrade
    from app.storage.tables import ContractRow, Customer

    url = f"sqlite+aiosqlite:///{tmp_path}/inc.db"
    upgrade(make_engine(url))
    body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
    now = datetime.now(timezone.utc)

    async def go():
        engine = make_engine(url)
        db = sessions(engine)
        try:
            async with db() as s:
                s.add(Customer(id="acme", name="Acme"))
                await s.flush()
                s.add_all(ContractRow(id=f"c{i}", customer_id="acme", template="ningbo-colo",
                                      body={**body, "id": f"c{i}", "customer": "acme"}) for i in range(12))
                await s.flush()
                await open_incident(s, incident_id="busy", contract_id="c0", category="server_fault",
                                    started_at=now - timedelta(minutes=5), reported_at=now - timedelta(minutes=5),
                                    actor="t")
                await s.commit()
            clock = [now]
            live = LiveState(db, load_rules(ROOT / "sla_rules"), EvaluationErrors(), max_age=0,
                             clock=lambda: clock[0])
            await live.current()
            counts = [live.evaluated]
            await live.current()  # nothing happened, nothing is due: no contract is evaluated again
            counts.append(live.evaluated)
            clock[0] = now + 1.5 * REFRESH  # c0's incident is open: its outage grows, looked at again after REFRESH
            await live.current()
            counts.append(live.evaluated)
            async with db() as s:  # another process opens an incident on c5 (no invalidate here)
                await open_incident(s, incident_id="other", contract_id="c5", category="server_fault",
                                    started_at=now - timedelta(minutes=1), reported_at=now - timedelta(minutes=1),
                                    actor="t")
                await s.commit()
            snap = await live.current()
            counts.append(live.evaluated)
            async with db() as s:  # another process replaces c7 (a new version) and deletes c9
                await s.exec(text("UPDATE contracts SET version = version + 1 WHERE id = 'c7'"))
                await s.exec(text("DELETE FROM contracts WHERE id = 'c9'"))
                await s.commit()
            after = await live.current()
            counts.append(live.evaluated)
            assert "c9" not in after.states and after.states["c7"] is not snap.states["c7"]
            return counts, {w.incident_id for w in snap.states["c5"].windows}, live.rounds
        finally:
            await engine.dispose()
    counts, c5, rounds = asyncio.run(go())
    # all, none, c0 when it is due, c5 when another process wrote, c7 and c9 when their rows changed
    assert counts == [12, 12, 13, 14, 16]
    assert c5 == {"other"} and rounds == 1


def test_a_state_is_due_again_at_the_next_instant_time_alone_changes_it():
    """A deadline is met at its instant (the breach is seen the instant after it, not
    up to REFRESH late); an open incident is looked at again after REFRESH; a contract at rest only
    when its month ends (in the contract's zone)."""
    from app.contracts.models import Case, Contract, Incident
    from app.contracts.rules import load_rules
    from app.evaluation.health import EvaluationErrors
    from app.live import REFRESH, contract_state
    from app.storage.tables import ContractRow

    rules = load_rules(ROOT / "sla_rules")
    body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
    contract = Contract.model_validate(body)
    row = ContractRow(id=body["id"], customer_id="acme", template="ningbo-colo", body=body)
    at = datetime(2026, 11, 18, 3, 0, 20, tzinfo=timezone.utc)  # a Wednesday, 11:00:20 in Shanghai

    def state(*incidents, warn_percent=None):
        case = Case(contract=contract, incidents=list(incidents), period="2026-11", at=at)
        return contract_state(row, case, None, rules, EvaluationErrors(), warn_percent)

    # respond_1h's deadline comes 40 s after `at`: sooner than REFRESH
    near = state(Incident(id="i", category="server_fault", started_at=at - timedelta(minutes=59, seconds=20)))
    (deadline,) = [w.deadline for w in near.windows if w.window == "respond_1h" and w.status == "running"]
    assert deadline == at + timedelta(seconds=40) and near.due == deadline + timedelta(microseconds=1)
    far = state(Incident(id="i", category="server_fault", started_at=at - timedelta(minutes=3)))  # notify: 2 min on
    assert at + REFRESH <= far.due < at + 1.5 * REFRESH  # spread by contract, so thousands are not due together
    # a warning at 70 %: notify's 5 min × 0.7 = 210 s, 180 s used — due 30 s on, when the ticket may be filed
    warned = state(Incident(id="i", category="server_fault", started_at=at - timedelta(minutes=3)), warn_percent=70)
    assert warned.due == at + timedelta(seconds=30)
    rest = state(Incident(id="i", category="server_fault", started_at=at - timedelta(days=2),
                          acknowledged_at=at - timedelta(days=2), resolved_at=at - timedelta(days=1)))
    assert rest.due == datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)  # 12-01 00:00 in Shanghai
