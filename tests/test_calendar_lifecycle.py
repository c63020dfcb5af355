"""The PRC calendar's lifecycle: known in advance, imported in a minute, reloaded
without a restart; a contract that cannot be evaluated is never skipped
silently, and its held-back tickets are filed once the year arrives."""
import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
import yaml
from conftest import ROOT, RULES_DIR, service_client

from app.calendars import WorkdaySchedule
from app.contracts.calendar_import import NoticeError, plan, read_notice
from tests.peers.util import free_port, wait_port, wait_until

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

CLI = [sys.executable, "-m", "app.cli"]
NOTICE_2027 = {
    "year": 2027, "papers": ["国务院办公厅关于2027年部分节假日安排的通知 (fixture written by the test)"],
    "days": [{"name": "元旦", "date": "2026-12-31", "isOffDay": True},   # the adjacent year: known, left alone
             {"name": "元旦", "date": "2027-01-01", "isOffDay": True},
             {"name": "元旦", "date": "2027-01-02", "isOffDay": True},   # a Saturday off: the standard week
             {"name": "春节", "date": "2027-02-08", "isOffDay": True},
             {"name": "春节", "date": "2027-02-09", "isOffDay": True},
             {"name": "春节", "date": "2027-02-20", "isOffDay": False}]}  # a Saturday on: 调休上班
ICS_2027 = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//holidays//CN\r
BEGIN:VEVENT\r
UID:a@test\r
SUMMARY:元旦 休\r
DTSTART;VALUE=DATE:20270101\r
DTEND;VALUE=DATE:20270102\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:b@test\r
SUMMARY:春节 休\r
DTSTART;VALUE=DATE:20270206\r
DTEND;VALUE=DATE:20270210\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:c@test\r
SUMMARY:春节 补班\r
DTSTART;VALUE=DATE:20270220\r
DTEND;VALUE=DATE:20270221\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.fixture
def rules_dir(tmp_path):
    """A copy of sla_rules/ an operator may change (calendars added, templates edited)."""
    root = tmp_path / "sla_rules"
    shutil.copytree(RULES_DIR, root)
    shutil.rmtree(root / "calendars", ignore_errors=True)
    return root


def run_cli(rules_dir, *args):
    env = {**os.environ, "SLAWATCH_RULES_DIR": str(rules_dir)}
    return subprocess.run([*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_import_holiday_cn_json_writes_the_year(rules_dir, tmp_path):
    src = tmp_path / "2027.json"
    src.write_text(json.dumps(NOTICE_2027, ensure_ascii=False))
    res = run_cli(rules_dir, "calendars", "import", str(src))
    assert res.returncode == 0, res.stderr
    assert "2 holidays on weekdays" not in res.stdout and "3 holidays on weekdays, 1 make-up working days" in res.stdout
    assert "skipped 2026-12-31 元旦: 2026 already known: not changed" in res.stdout
    written = yaml.safe_load((rules_dir / "calendars" / "cn-2027.yaml").read_text())
    assert written["holidays"] == [date(2027, 1, 1), date(2027, 2, 8), date(2027, 2, 9)]
    assert written["workdays"] == [date(2027, 2, 20)]
    assert "国务院办公厅" in written["source"]
    shown = run_cli(rules_dir, "calendars", "show", "2027")
    assert shown.returncode == 0
    assert [line.split()[:2] for line in shown.stdout.splitlines()[1:]] == [
        ["off", "2027-01-01"], ["off", "2027-02-08"], ["off", "2027-02-09"], ["on", "2027-02-20"]]
    check = run_cli(rules_dir, "rules", "check")  # 2027 known now: only 2028 may be missing
    assert check.returncode == 0 and "for 2027" not in check.stdout


def test_import_icalendar_gives_the_same_year(rules_dir, tmp_path):
    src = tmp_path / "cn.ics"
    src.write_text(ICS_2027)
    res = run_cli(rules_dir, "calendars", "import", str(src))
    assert res.returncode == 0, res.stderr
    written = yaml.safe_load((rules_dir / "calendars" / "cn-2027.yaml").read_text())
    # 02-06/07 are a weekend anyway; 02-08/09 are the weekdays off
    assert written["holidays"] == [date(2027, 1, 1), date(2027, 2, 8), date(2027, 2, 9)]
    assert written["workdays"] == [date(2027, 2, 20)]
    assert written["source"] == "iCalendar cn.ics"


@pytest.mark.parametrize("days, message", [
    ([{"name": "春节", "date": "2027-02-08", "isOffDay": True}, {"name": "x", "date": "2027-02-08", "isOffDay": False}],
     "2027-02-08 is listed both as a day off and as a working day"),
    ([{"name": "x", "date": "2029-05-01", "isOffDay": True}], "2029-05-01 is more than one year from 2027"),
    ([{"name": "x", "date": "2027-13-01", "isOffDay": True}], "days[0].date: expected a date like 2027-01-01"),
    ([{"name": "x", "date": "2027-05-01", "isOffDay": "yes"}], "days[0].isOffDay: expected true or false"),
])
def test_a_bad_notice_writes_nothing(rules_dir, tmp_path, days, message):
    src = tmp_path / "bad.json"
    src.write_text(json.dumps({"year": 2027, "days": days}))
    res = run_cli(rules_dir, "calendars", "import", str(src))
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert not (rules_dir / "calendars").exists() or not list((rules_dir / "calendars").iterdir())


def test_adjacent_unknown_year_is_never_made_known(tmp_path):
    src = tmp_path / "n.json"
    src.write_text(json.dumps({"year": 2027, "days": [{"name": "元旦", "date": "2028-01-03", "isOffDay": True}]}))
    p = plan(read_notice(src), WorkdaySchedule())
    assert p.holidays == {} and [d.day for d, _ in p.skipped] == [date(2028, 1, 3)]
    assert "a year is known only from its own notice" in p.skipped[0][1]
    src.write_bytes(b"x" * (1 << 21))
    with pytest.raises(NoticeError, match="larger than"):
        read_notice(src)


@pytest.mark.parametrize("today, warns", [
    (date(2026, 10, 31), False), (date(2026, 11, 1), True), (date(2026, 12, 31), True)])
def test_the_missing_year_warning_starts_on_1_november(today, warns):
    w = WorkdaySchedule().missing_year_warning(today)
    assert (w == "warning: no PRC working-day schedule for 2027 (needed from 2027-01-01): add "
                 "sla_rules/calendars/cn-2027.yaml or run slawatch calendars import") is warns
    assert WorkdaySchedule().known_until(today) == date(2027, 1, 1)


def test_rules_check_warns_and_exits_0(rules_dir):
    res = run_cli(rules_dir, "rules", "check")
    today = datetime.now(timezone(timedelta(hours=8))).date()
    if WorkdaySchedule().known_until(today) - today > timedelta(days=61):
        pytest.skip("the package knows next year already: nothing to warn of")
    assert res.returncode == 0
    assert "warning: no PRC working-day schedule for" in res.stdout and "slawatch calendars import" in res.stdout


def test_reload_through_the_api_validates_first(rules_dir, tmp_path):
    client, _ = service_client(f"sqlite+aiosqlite:///{tmp_path}/r.db", rules_dir=rules_dir)
    with client:
        case = {"contract": {"id": "c", "template": "shengjing-crm"}, "period": "2027-01",
                "at": "2027-01-05T12:00:00+08:00",
                "incidents": [{"id": "r", "category": "renewal", "attribution": "provider",
                               "started_at": "2027-01-04T09:00:00+08:00"}]}
        before = client.post("/v1/evaluations", json=case)
        assert before.status_code == 422 and before.json()["reason"] == "no_calendar_2027"
        cal = rules_dir / "calendars"
        cal.mkdir()
        (cal / "cn-2027.yaml").write_text("year: 2027\nholidays: [2027-01-01]\nworkdays: [2026-02-20]\n")
        bad = client.post("/v1/admin/rules/reload")
        assert bad.status_code == 422
        assert bad.json()["detail"] == "sla_rules/calendars/cn-2027.yaml:3: workdays[0]: 2026-02-20 is not in 2027"
        assert client.post("/v1/evaluations", json=case).status_code == 422  # the running set stayed
        (cal / "cn-2027.yaml").write_text("year: 2027\nholidays: [2027-01-01]\nworkdays: []\n")
        ok = client.post("/v1/admin/rules/reload")
        assert ok.status_code == 200 and ok.json()["calendar_years"] == [2027]
        after = client.post("/v1/evaluations", json=case)
        assert after.status_code == 200, after.text
        assert after.json()["windows"][0]["deadline"] == "2027-01-04T18:00:00+08:00"


def metric(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(name + "{")]


def test_a_contract_that_cannot_be_evaluated_shows_files_and_recovers_on_sighup(rules_dir, tmp_path):
    """resolve within 30 working days: from today the deadline is in 2027, which
    has no schedule. The contract shows its error in the API, /metrics and the log,
    files one ticket; its breach tickets wait. The year's file arrives, SIGHUP:
    the held-back tickets are filed once each, the error clears."""
    tpl = rules_dir / "templates" / "ningbo-colo.yaml"
    tpl.write_text(tpl.read_text().replace("name: resolve_1wd", "name: resolve_30wd")
                   .replace("limit: 1wd", "limit: 30wd"))
    port, mbox = free_port(), tmp_path / "tickets.mbox"
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/e.db",
           "SLAWATCH_RULES_DIR": str(rules_dir), "SLAWATCH_TICKET_INTERVAL_SECONDS": "0.5",
           "SLAWATCH_METRICS_REFRESH_SECONDS": "0.5", "SLAWATCH_TICKET_MBOX": str(mbox),
           "SLAWATCH_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    contract = {"id": "nb-1", "template": "ningbo-colo", "customer": "acme", "month_fee": "1000.00",
                "billing": "monthly"}
    (tmp_path / "nb.yaml").write_text(yaml.safe_dump(contract))
    subprocess.run([*CLI, "contracts", "import", str(tmp_path / "nb.yaml")], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    token = subprocess.run([*CLI, "tokens", "create", "--role", "admin"], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    log = open(tmp_path / "run.log", "w")
    app = subprocess.Popen([*CLI, "run", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_port(port, 30)
        started = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
        r = httpx.post(f"{base}/v1/incidents", headers=auth,
                       json={"contract_id": "nb-1", "category": "server_fault", "started_at": started})
        assert r.status_code == 201, r.text  # stored, and shown with why it has no windows yet
        assert (r.json()["windows"], r.json()["evaluation_error"]["reason"]) == ([], "no_calendar_2027")
        iid = r.json()["id"]
        live = httpx.get(f"{base}/v1/windows", headers=auth)
        assert live.status_code == 200
        assert [(e["contract_id"], e["reason"]) for e in live.json()["evaluation_errors"]] == [
            ("nb-1", "no_calendar_2027")]
        tickets = lambda: {t["id"] for t in httpx.get(f"{base}/v1/tickets", headers=auth).json()["items"]}
        assert wait_until(lambda: "evaluation_error:nb-1:no_calendar_2027" in tickets())
        assert wait_until(lambda: metric(httpx.get(f"{base}/metrics", headers=auth).text, "slawatch_contract_evaluation_errors")
                        == ['slawatch_contract_evaluation_errors{contract="nb-1",reason="no_calendar_2027"} 1.0'])
        credits = httpx.get(f"{base}/v1/contracts/nb-1/credits", headers=auth)
        assert credits.status_code == 422 and credits.json()["reason"] == "no_calendar_2027"
        assert "cn-2027.yaml" in credits.json()["detail"]
        assert not any(t.startswith("breach:") for t in tickets())  # held back, not lost
        known = metric(httpx.get(f"{base}/metrics", headers=auth).text, "slawatch_calendar_known_until_timestamp_seconds")
        assert known == ['slawatch_calendar_known_until_timestamp_seconds{calendar="cn_workdays"} 1.7987328e+09']

        src = tmp_path / "2027.json"
        src.write_text(json.dumps(NOTICE_2027, ensure_ascii=False))
        assert run_cli(rules_dir, "calendars", "import", str(src)).returncode == 0
        app.send_signal(signal.SIGHUP)
        held = {f"breach:{iid}:respond_1h", f"breach:{iid}:notify"}
        assert wait_until(lambda: held <= tickets())
        assert wait_until(lambda: metric(httpx.get(f"{base}/metrics", headers=auth).text,
                                       "slawatch_contract_evaluation_errors") == [])
        assert httpx.get(f"{base}/v1/contracts/nb-1/credits", headers=auth).status_code == 200
        assert wait_until(lambda: mbox.exists() and all(k in mbox.read_text() for k in held))
    finally:
        app.terminate()
        app.wait(timeout=15)
        log.close()
    text = (tmp_path / "run.log").read_text()
    assert text.count("contract nb-1 cannot be evaluated") == 1  # once per change, not per round
    assert "contract nb-1 evaluates again" in text and "rules reloaded" in text
    from app.contracts.lifecycle import today_in_prc
    warning = WorkdaySchedule().missing_year_warning(today_in_prc())
    if warning is not None:  # announced at start (the year's file came later)
        assert warning.split(": add ")[0] in text
    import mailbox
    filed = [m["X-Slawatch-Ticket"] for m in mailbox.mbox(mbox)]
    assert sorted(k for k in filed if k in held or k.startswith("evaluation_error")) == sorted(
        [*held, "evaluation_error:nb-1:no_calendar_2027"])  # each exactly once

