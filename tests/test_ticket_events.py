"""Which events file tickets (pure): breach, 80 % warning, major incident,
termination right, provider-action ledger deadlines within 24 h."""
from app.tickets.events import (
    ledger_events,
    major_events,
    termination_events,
    window_events,
)


def w(status, elapsed, limit=3600, incident="i1", window="respond_1h"):
    return {"incident_id": incident, "window": window, "status": status, "elapsed_seconds": elapsed,
            "limit_seconds": limit, "clause": "五.6", "original": "…", "basis": "contract",
            "deadline": "2026-11-02T11:00:00+08:00", "overdue_seconds": max(elapsed - limit, 0), "limit": "1h",
            "provisional": False}


def test_window_events():
    keys = [e.key for e in window_events([w("breached", 4000), w("running", 2880, incident="i2"),
                                          w("running", 2879, incident="i3"), w("met", 100, incident="i4"),
                                          w("excluded", 0, incident="i5")], 0.8)]
    assert keys == ["breach:i1:respond_1h", "warn80:i2:respond_1h"]
    assert [e.key for e in window_events([w("running", 3500)], None)] == []  # warnings off


def test_major_and_termination_events():
    inc = [{"id": "a", "category": "server_fault", "severity": "major", "started_at": "x", "status": "open"},
           {"id": "b", "category": "server_fault", "severity": "major", "started_at": "x", "status": "resolved"},
           {"id": "c", "category": "server_fault", "severity": "minor", "started_at": "x", "status": "open"}]
    assert [e.key for e in major_events(inc)] == ["major:a"]
    assert termination_events("c1", {"granted": False}) == []
    assert [e.key for e in termination_events("c1", {"granted": True, "since": "2026-10-23T08:00:00+08:00"})] == \
        ["termination:c1:2026-10-23T08:00:00+08:00"]


def test_ledger_deadline_events_within_24h_for_provider_actions_only():
    from datetime import datetime
    now = datetime.fromisoformat("2026-12-24T12:00:00+08:00").timestamp()
    d = lambda name, due, passed=False: {"name": name, "due_at": due, "clause": "2.2", "basis": "contract",
                                         "passed": passed}
    events = ledger_events("c1", [d("renewal_reminder", "2026-12-25T00:00:00+08:00"),
                                  d("renewal_due", "2026-12-25T00:00:00+08:00"),
                                  d("pickup_deadline", "2026-12-26T00:00:00+08:00"),
                                  d("data_export_until", "2026-12-24T00:00:00+08:00", passed=True)], now)
    assert [e.key for e in events] == ["ledger:c1:renewal_reminder:2026-12-25T00:00:00+08:00"]


def test_per_contract_sinks_and_warning_switch():
    from app.contracts.models import TicketPolicy
    from app.live import warn_ratio
    from app.settings import Settings
    from app.tickets.senders import LogSink, SmtpSink, WebhookSink, sinks_from

    glob = Settings(database_url="sqlite+aiosqlite:///:memory:", ticket_smtp_url="smtp://127.0.0.1:2525",
                    ticket_smtp_to="support@localhost")
    assert [type(s) for s in sinks_from(glob)] == [SmtpSink]
    own = TicketPolicy(smtp_to="vip@localhost", webhook_url="http://127.0.0.1:9/h", webhook_secret="s")
    sinks = sinks_from(glob, own)
    assert [type(s) for s in sinks] == [SmtpSink, WebhookSink] and sinks[0].to == "vip@localhost"
    assert [type(s) for s in sinks_from(Settings(database_url="sqlite+aiosqlite:///:memory:"))] == [LogSink]
    assert warn_ratio(None, glob.ticket_warn_percent) == 0.8
    assert warn_ratio(TicketPolicy(warn_percent=0), 80) is None and warn_ratio(None, 0) is None
    assert warn_ratio(TicketPolicy(warn_percent=50), 80) == 0.5


def test_a_burst_of_tickets_goes_out_in_batches_and_a_failing_sink_holds_no_places(tmp_path):
    """deliver() sends the oldest pending tickets a batch at a time (a burst never
    loads, sends and writes thousands at once), and tickets waiting out a failing
    sink's backoff leave the batch to the others."""
    import asyncio
    from datetime import datetime, timedelta, timezone

    from app.storage.db import make_engine, sessions, upgrade
    from app.storage.tables import TicketRow
    from app.tickets.outbox import deliver

    class Sink:  # a sink that records what it got, and refuses the tickets named "bad…"
        name = "desk"

        def __init__(self):
            self.got = []

        async def send(self, t):
            if t["id"].startswith("bad"):
                raise ConnectionError("refused")
            self.got.append(t["id"])

    url = f"sqlite+aiosqlite:///{tmp_path}/t.db"
    upgrade(make_engine(url))
    t0 = datetime(2026, 11, 30, tzinfo=timezone.utc)

    async def go():
        engine = make_engine(url)
        db, sink, backoff = sessions(engine), Sink(), {}
        async with db() as s:
            s.add_all(TicketRow(id=f"{'bad' if i < 2 else 'ok'}{i}", kind="window_breached", contract_id="c", customer_id="a",
                                payload={}, created_at=t0 + timedelta(seconds=i)) for i in range(7))
            await s.commit()
        rounds = []
        for _ in range(3):
            async with db() as s:
                await deliver(s, lambda cid: [sink], backoff, batch=3)
            rounds.append(list(sink.got))
        await engine.dispose()
        return rounds
    rounds = asyncio.run(go())
    assert rounds[0] == ["ok2"]  # bad0, bad1 fail and wait out their backoff
    assert rounds[1] == ["ok2", "ok3", "ok4", "ok5"]  # their places go to the next ones
    assert rounds[2] == ["ok2", "ok3", "ok4", "ok5", "ok6"]


def test_escalation_pages_step_by_step_until_someone_acknowledges():
    from datetime import datetime, timezone

    from app.contracts.models import Escalation
    from app.tickets.events import escalation_events

    esc = Escalation.model_validate({"steps": [{"at": "50%", "to": "on_duty"}, {"at": "80%", "to": "lead"},
                                               {"at": "breach", "to": "manager", "sms": True}],
                                     "repeat_minutes": 30})
    now = datetime(2026, 11, 30, 2, 5, tzinfo=timezone.utc)
    windows = [{"incident_id": "i", "window": "respond_1h", "status": "running", "limit_seconds": 3600,
                "elapsed_seconds": 2200, "clause": "五.6"},
               {"incident_id": "i", "window": "notify", "status": "breached", "limit_seconds": 300,
                "elapsed_seconds": 3900, "clause": "五.6"}]
    open_ = [{"id": "i", "status": "open", "acknowledged": False, "started_at": "2026-11-30T01:00:00+00:00"}]
    keys = {e.key: (e.payload["to"], e.payload["sms"]) for e in escalation_events(windows, open_, esc, now.timestamp())}
    assert keys == {"escalate50%:i:respond_1h": ("on_duty", False),  # 61 % used: the first step only
                    "escalate50%:i:notify": ("on_duty", False), "escalate80%:i:notify": ("lead", False),
                    "escalatebreach:i:notify": ("manager", True),  # breached: every step, the SMS page too
                    "still_open:i:2": ("on_duty", False)}  # 65 min open, reminders every 30
    acked = [{**open_[0], "acknowledged": True}]
    assert escalation_events(windows, acked, esc, now.timestamp()) == []  # someone has it: nobody more is paged
    assert escalation_events(windows, open_, None, now.timestamp()) == []
    # wholly inside announced maintenance: its windows are excluded, nobody is paged, no reminder either
    planned = [{**w, "status": "excluded", "elapsed_seconds": 0, "attribution": "announced_maintenance"}
               for w in windows]
    assert escalation_events(planned, open_, esc, now.timestamp()) == []


def test_a_page_on_the_timeline_changes_no_state_and_no_order():
    """A "paged" event records a message sent; the incident's state is what it was, and
    a staff action dated before the page is still in order (a page is not a moment in it)."""
    from datetime import datetime, timedelta, timezone

    from app.incidents.timeline import Event, check, fold

    t0 = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)
    events = [Event("opened", t0), Event("paged", t0 + timedelta(minutes=30), "slawatch", "dingtalk: errcode=0")]
    state = fold(events)
    assert state.status == "open" and state.acknowledged_at is None and state.last_at == t0
    check(state, "acknowledged", t0 + timedelta(minutes=10), t0)  # before the page: allowed
    resolved = fold([*events, Event("resolved", t0 + timedelta(hours=1))])
    check(resolved, "paged", t0 + timedelta(hours=2), t0)  # a reminder may follow a resolved incident's last page
    assert fold([*events, Event("resolved", t0 + timedelta(hours=1)),
                 Event("paged", t0 + timedelta(hours=2))]).status == "resolved"


def test_a_contract_escalates_as_it_says_else_as_its_template_says():
    from conftest import ROOT

    from app.contracts.models import Escalation, TicketPolicy
    from app.contracts.rules import load_rules
    from app.live import escalation_of

    template = load_rules(ROOT / "sla_rules").templates["ningbo-colo"]
    mine = Escalation.model_validate({"steps": [{"at": "breach", "to": "manager"}]})
    theirs = template.model_copy(update={"escalation": Escalation.model_validate(
        {"steps": [{"at": "50%", "to": "on_duty"}]})})
    assert escalation_of(None, template) is None
    assert escalation_of(None, theirs) is theirs.escalation
    assert escalation_of(TicketPolicy(escalation=mine), theirs) is mine
    assert escalation_of(TicketPolicy(warn_percent=50), theirs) is theirs.escalation
