"""Rotas on the PRC calendar: a week with a holiday and a 调休 Saturday, night shifts
that end the next day, rotation, overrides; a bad rota file names file:line; who is
on duty through the API and the CLI."""
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from conftest import ROOT, service_client

from app.contracts.rules import load_rules
from app.oncall.models import OnCall
from app.oncall.rota import on_duty

ROTA = OnCall.model_validate({
    "people": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}, {"id": "n", "name": "N"}, {"id": "r", "name": "R"},
               {"id": "x", "name": "X"}],
    "teams": [{"id": "noc", "shifts": [
        {"name": "day", "days": "workdays", "start": "09:00", "end": "18:00", "people": ["a", "b"],
         "rotate": "daily", "since": "2026-10-05"},
        {"name": "night", "days": "workdays", "start": "18:00", "end": "09:00", "people": ["n"]},
        {"name": "rest", "days": "rest_days", "start": "09:00", "end": "09:00", "people": ["r"]}]}],
    "overrides": [{"team": "noc", "start": "2026-10-09T12:00:00+08:00", "end": "2026-10-09T14:00:00+08:00",
                   "people": ["x"]}]})
BEIJING = timezone(timedelta(hours=8))


def test_a_week_with_a_holiday_and_a_tiaoxiu_saturday():
    """2026-10-05 … 10-11: Mon-Wed the National Day holiday, Thu-Fri working days,
    Sat 10-10 a 调休 working day, Sun 10-11 a rest day."""
    schedule = load_rules(ROOT / "sla_rules").schedule

    def who(day: int, hour: int, minute: int = 0) -> tuple[str, str]:
        (d,) = on_duty(ROTA, schedule, datetime(2026, 10, day, hour, minute, tzinfo=BEIJING))
        return d.shift, ",".join(p.id for p in d.people)
    assert [who(d, 10) for d in range(5, 12)] == [
        ("rest", "r"), ("rest", "r"), ("rest", "r"),  # the holiday: the rest shift, day and night
        ("day", "b"), ("day", "a"),  # working days: rotating daily from a on 10-05 (3 and 4 days on)
        ("day", "b"),  # the 调休 Saturday is a working day
        ("rest", "r")]
    assert who(7, 23) == ("rest", "r") and who(8, 8, 59) == ("rest", "r")  # the holiday's shift ends 10-08 09:00
    assert who(8, 18) == ("night", "n") and who(9, 3) == ("night", "n")  # a night shift belongs to its first day
    assert who(10, 20) == ("night", "n") and who(11, 8) == ("night", "n")  # Saturday's, worked: into Sunday
    assert who(9, 13) == ("override", "x")  # a swap covers the shift


def test_who_is_on_duty_through_the_api_and_the_cli(tmp_path):
    client, make_token = service_client(f"sqlite+aiosqlite:///{tmp_path}/o.db")
    with client:
        r = client.get("/v1/oncall", params={"at": "2026-10-10T10:00:00+08:00"})
        assert r.status_code == 200
        assert [(d["team"], d["shift"], [p["name"] for p in d["people"]]) for d in r.json()["duties"]] == [
            ("noc", "day", ["张伟"])]
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        assert client.get("/v1/oncall", headers={"Authorization": f"Bearer {make_token('noc')}"}).status_code == 200
        customer = {"Authorization": f"Bearer {make_token('customer', 'acme')}"}
        assert client.get("/v1/oncall", headers=customer).status_code == 403  # staff only
        assert client.get("/v1/oncall", params={"at": "2026-10-10T10:00:00"}).status_code == 422
    out = subprocess.run([sys.executable, "-m", "app.cli", "oncall", "now", "--at", "2026-10-10T10:00:00+08:00"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("noc\tday\t张伟 (zhangwei)\t2026-10-10T09:00:00+08:00")


def test_a_step_pages_the_people_on_duty_or_the_lead_or_the_manager():
    from app.oncall.rota import paged

    rota = OnCall.model_validate({**ROTA.model_dump(mode="json"), "teams": [
        {**ROTA.teams[0].model_dump(mode="json"), "lead": "b", "manager": "x"}]})
    schedule = load_rules(ROOT / "sla_rules").schedule
    at = datetime(2026, 10, 8, 10, 0, tzinfo=BEIJING)
    assert [p.id for p in paged(rota, schedule, None, "on_duty", at)] == ["b"]
    assert [p.id for p in paged(rota, schedule, "noc", "lead", at)] == ["b"]
    assert [p.id for p in paged(rota, schedule, "noc", "manager", at)] == ["x"]
    assert paged(rota, schedule, "nope", "on_duty", at) == [] and paged(None, schedule, None, "lead", at) == []
