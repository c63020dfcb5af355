"""Year end without a cliff (SEMANTICS §2–§3): working-day arithmetic asks for no
day it does not need, so December 2026 evaluates with no 2027 schedule at all;
a deadline that truly falls in 2027 is the one error, naming the file to add.
Each example runs through the engine, ``slawatch evaluate``, ``POST
/v1/evaluations`` and the stored contract's credits route."""
import asyncio
import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import ROOT, incident, make_case, row, service_client
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calendars import CalendarError, CnWorkdays, Weekly, WorkdaySchedule, elapsed
from app.calendars.workdays import parse_hours
from app.contracts.errors import CaseError

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

SH = ZoneInfo("Asia/Shanghai")
NO_2027 = "no PRC working-day schedule for 2027: add sla_rules/calendars/cn-2027.yaml"
SLAWATCH = [sys.executable, "-m", "app.cli"]

RENEWAL = make_case("shengjing-crm", [incident("r1", "renewal", "2026-12-31T09:00:00+08:00",
                                               "2026-12-31T10:00:00+08:00")],
                    "2026-12", "2026-12-31T11:00:00+08:00")
SERVER_FAULT = make_case("ningbo-colo", [incident("s1", "server_fault", "2026-12-28T09:00:00+08:00",
                                                  "2026-12-31T15:00:00+08:00")],
                         "2026-12", "2027-01-01T00:00:00+08:00")
# acknowledged at once; resolve_1wd's deadline (12-30 18:00) is long gone when the
# customer is asked to wait on 12-31, and the pause runs to the year's end
PAUSED = make_case("ningbo-colo", [incident("p1", "server_fault", "2026-12-30T09:00:00+08:00",
                                            acknowledged_at="2026-12-30T09:10:00+08:00",
                                            notified_at="2026-12-30T09:10:00+08:00",
                                            pauses=[{"start": "2026-12-31T10:00:00+08:00", "end": None,
                                                     "reason": "waiting_on_customer"}])],
                   "2026-12", "2027-01-01T00:00:00+08:00")
EXPECTED = [  # case, incident, window, status, elapsed, overdue, deadline
    (RENEWAL, "r1", "renew_1wd", "met", 3600, 0, "2026-12-31T18:00:00+08:00"),
    (SERVER_FAULT, "s1", "resolve_1wd", "breached", 118800, 86400, "2026-12-28T18:00:00+08:00"),
    # 12-30 09:00–18:00 and 12-31 09:00–10:00, then paused to the end
    (PAUSED, "p1", "resolve_1wd", "breached", 36000, 3600, "2026-12-30T18:00:00+08:00"),
]


def check(report, inc, window, status, spent, over, due):
    r = row(report, inc, window)
    assert (r["status"], r["elapsed_seconds"], r["overdue_seconds"], r["deadline"]) == (status, spent, over, due)


@pytest.mark.parametrize("case, inc, window, status, spent, over, due", EXPECTED)
def test_december_evaluates_with_no_2027_schedule(evaluate, case, inc, window, status, spent, over, due):
    check(evaluate(case), inc, window, status, spent, over, due)


@pytest.mark.parametrize("case, inc, window, status, spent, over, due", EXPECTED)
def test_cli_and_api_agree_at_year_end(client, case, inc, window, status, spent, over, due):
    cli = subprocess.run([*SLAWATCH, "evaluate", "-"], input=json.dumps(case).encode(), capture_output=True,
                         cwd=ROOT, timeout=60)
    assert cli.returncode == 0, cli.stderr
    api = client.post("/v1/evaluations", json=case)
    assert api.status_code == 200, api.text
    assert json.loads(cli.stdout) == api.json()
    check(api.json(), inc, window, status, spent, over, due)


def test_a_deadline_that_truly_falls_in_2027_is_an_error_naming_the_file(evaluate, client):
    late = make_case("shengjing-crm", [incident("r2", "renewal", "2026-12-31T17:00:00+08:00")],
                     "2026-12", "2026-12-31T17:30:00+08:00")
    with pytest.raises(CaseError) as e:
        evaluate(late)
    assert e.value.message == NO_2027
    api = client.post("/v1/evaluations", json=late)
    assert api.status_code == 422 and NO_2027 in api.text
    cli = subprocess.run([*SLAWATCH, "evaluate", "-"], input=json.dumps(late).encode(), capture_output=True,
                         cwd=ROOT, timeout=60)
    assert cli.returncode == 2 and NO_2027 in cli.stderr.decode() and cli.stdout == b""


def test_a_met_window_whose_deadline_is_in_2027_shows_it_unknown(evaluate):
    """The outcome (met) needs no deadline; the contract is not stopped for it."""
    done = make_case("shengjing-crm", [incident("r3", "renewal", "2026-12-31T17:00:00+08:00",
                                                "2026-12-31T17:30:00+08:00")],
                     "2026-12", "2026-12-31T18:00:00+08:00")
    r = row(evaluate(done), "r3", "renew_1wd")
    assert (r["status"], r["elapsed_seconds"], r["deadline"]) == ("met", 1800, None)


@pytest.mark.parametrize("case, inc, window, status, spent, over, due", EXPECTED)
def test_december_on_the_stored_contract_credits_route(tmp_path, case, inc, window, status, spent, over, due):
    """The stored path: the case's incident and its timeline in the database
    (written directly: the API refuses instants in the future, and today is
    before them), evaluated by ``GET /v1/contracts/{id}/credits``."""
    from app.storage.db import make_engine, sessions
    from app.storage.tables import IncidentEvent, IncidentRow

    url = f"sqlite+aiosqlite:///{tmp_path}/slawatch.db"
    client, _ = service_client(url)
    c, i = case["contract"], case["incidents"][0]
    with client:
        assert client.post("/v1/customers", json={"id": "ye", "name": "Year End"}).status_code == 201
        body = {"id": "ye-1", "customer": "ye", "template": c["template"], "timezone": "Asia/Shanghai",
                "month_fee": "1000.00", "billing": "monthly"}
        assert client.post("/v1/contracts", json=body).status_code == 201

        def at(key):
            return datetime.fromisoformat(i[key]) if i.get(key) else None
        timeline = [("opened", at("started_at"), {}), ("classified", at("started_at"), {"attribution": "provider"})]
        timeline += [(k, at(f"{k}_at"), {}) for k in ("acknowledged", "notified") if at(f"{k}_at")]
        timeline += [("paused", datetime.fromisoformat(p["start"]), {"reason": p["reason"]}) for p in i.get("pauses", [])]
        timeline += [("resolved", at("resolved_at"), {})] if at("resolved_at") else []

        async def store():
            engine = make_engine(url)
            async with sessions(engine)() as db:
                db.add(IncidentRow(id=i["id"], contract_id="ye-1", category=i["category"],
                                   started_at=at("started_at"), reported_at=at("started_at")))
                await db.flush()
                for seq, (kind, when, data) in enumerate(timeline, 1):
                    db.add(IncidentEvent(incident_id=i["id"], seq=seq, kind=kind, at=when, actor="test", data=data))
                await db.commit()
            await engine.dispose()
        asyncio.run(store())
        r = client.get("/v1/contracts/ye-1/credits", params={"period": case["period"], "at": case["at"]})
        assert r.status_code == 200, r.text
        check(r.json(), inc, window, status, spent, over, due)


class Recording(WorkdaySchedule):
    """A schedule that remembers every day it was asked about."""

    def __init__(self):
        super().__init__()
        self.asked: set[date] = set()

    def is_workday(self, day):
        self.asked.add(day)
        return super().is_workday(day)


SUPPORT = {i: parse_hours("08:30-20:30") for i in range(5)} | {5: parse_hours("09:20-17:20")}


def calendars(schedule):
    return [CnWorkdays(SH, schedule, parse_hours("09:00-18:00")),
            CnWorkdays(SH, schedule, parse_hours("09:00-12:00,13:00-18:00")),
            Weekly("inolink_onsite", SH, {i: parse_hours("09:00-17:00") for i in range(5)}, schedule)]


instants = st.integers(0, 60 * 24 * 40).map(lambda m: datetime(2026, 11, 25, tzinfo=SH) + timedelta(minutes=m))


@settings(max_examples=300, deadline=None)
@given(a=instants, b=instants, pause=st.none() | st.tuples(instants, instants), which=st.integers(0, 2))
def test_elapsed_never_asks_for_a_day_at_or_after_its_end(a, b, pause, which):
    """On every calendar, with and without pauses: no day whose local start is at
    or after ``b`` is looked up, and the answer is unchanged."""
    schedule = Recording()
    cal = calendars(schedule)[which]
    pauses = [tuple(sorted(pause))] if pause else []
    if b.date() > date(2026, 12, 31) or (b - timedelta(microseconds=1)).date() > date(2026, 12, 31):
        b = datetime(2027, 1, 1, tzinfo=SH)
    if a >= b:
        a = b - timedelta(hours=1)
    got = elapsed(cal, a, b, pauses)
    assert all(datetime.combine(d, datetime.min.time(), SH) < b for d in schedule.asked)
    assert got <= b - a


def test_weekly_calendar_without_schedule_still_evaluates_up_to_the_end():
    cal = Weekly("support", SH, SUPPORT)
    got = elapsed(cal, datetime(2026, 12, 31, 20, tzinfo=SH), datetime(2027, 1, 1, tzinfo=SH))
    assert got == timedelta(minutes=30)


def test_asking_for_2027_itself_is_still_an_error():
    with pytest.raises(CalendarError) as e:
        elapsed(calendars(WorkdaySchedule())[0], datetime(2026, 12, 31, 9, tzinfo=SH),
                datetime(2027, 1, 4, 12, tzinfo=SH))
    assert str(e.value) == NO_2027
