"""Planned maintenance through the API (issue 19): a recurring window announced in
time takes the overlapping part out of an outage on the credits route and the
statement; one announced late does not; bad windows are 4xx naming the field and
change nothing; iCalendar out (RRULE in the contract's zone) and in (repeatable)."""
import pytest
import yaml
from conftest import ROOT, service_client
from icalendar import Calendar

CONTRACT = "c-mail"
# Sundays 02:00–03:00 Shanghai from 2026-11-01, announced on 2026-10-20
WEEKLY = {"id": "m-sun", "contract_id": CONTRACT, "starts_at": "2026-11-01T02:00:00+08:00",
          "ends_at": "2026-11-01T03:00:00+08:00", "rrule": "FREQ=WEEKLY;BYDAY=SU;COUNT=8",
          "announced_at": "2026-10-20T10:00:00+08:00", "channel": "e-mail", "note": "存储扩容 storage upgrade"}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    client, make_token = service_client(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('m')}/m.db")
    with client:
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/xiamen-mail.yaml").read_text())
        body.update(id=CONTRACT, customer="acme")
        assert client.post("/v1/contracts", json=body).status_code == 201
        # Sunday 2026-11-15 01:30–03:30 Shanghai: the 02:00–03:00 hour is the announced maintenance
        inc = client.post("/v1/incidents", json={"contract_id": CONTRACT, "category": "mail_send_receive",
                                                 "started_at": "2026-11-15T01:30:00+08:00"}).json()
        client.post(f"/v1/incidents/{inc['id']}/classify", json={"attribution": "provider"})
        assert client.post(f"/v1/incidents/{inc['id']}/resolve",
                           json={"at": "2026-11-15T03:30:00+08:00"}).status_code == 200
        yield client, make_token


def credits(client) -> dict:
    res = client.get(f"/v1/contracts/{CONTRACT}/credits", params={"period": "2026-11"})
    assert res.status_code == 200, res.text
    return res.json()


def test_a_weekly_window_announced_in_time_excludes_its_hour_everywhere(api):
    client, make_token = api
    assert credits(client)["outage"]["seconds"] == 2 * 3600
    res = client.post("/v1/maintenance", json=WEEKLY)
    assert res.status_code == 201, res.text
    try:
        r = credits(client)
        assert r["outage"]["seconds"] == 3600  # 01:30–02:00 and 03:00–03:30
        sundays = [m for m in r["maintenance"] if m["start"].startswith("2026-11")]
        assert [m["start"][:10] for m in sundays] == ["2026-11-01", "2026-11-08", "2026-11-15", "2026-11-22",
                                                      "2026-11-29"]
        hit = next(m for m in sundays if m["start"].startswith("2026-11-15"))
        assert (hit["excluded"], hit["outage_excluded_seconds"], hit["start"]) == \
            (True, 3600, "2026-11-15T02:00:00+08:00")
        page = client.get(f"/v1/contracts/{CONTRACT}/statement", params={"period": "2026-11"}).text
        assert "计划维护 Planned maintenance" in page and "存储扩容" in page and "2026-11-15 02:00" in page
        # a customer sees their own windows
        mine = client.get("/v1/maintenance", headers={"Authorization": f"Bearer {make_token('customer', 'acme')}"})
        assert [w["id"] for w in mine.json()] == ["m-sun"]
    finally:
        assert client.delete("/v1/maintenance/m-sun").status_code == 204
    assert credits(client)["outage"]["seconds"] == 2 * 3600 and credits(client)["maintenance"] == []


def test_a_window_announced_after_it_began_counts_and_says_why(api):
    client, _ = api
    late = {**WEEKLY, "id": "m-late", "rrule": None, "starts_at": "2026-11-15T02:00:00+08:00",
            "ends_at": "2026-11-15T03:00:00+08:00", "announced_at": "2026-11-15T02:30:00+08:00"}
    assert client.post("/v1/maintenance", json=late).status_code == 201
    try:
        r = credits(client)
        assert r["outage"]["seconds"] == 2 * 3600
        [m] = r["maintenance"]
        assert (m["excluded"], m["why_counted"]) == (False, "announced when or after it began")
        page = client.get(f"/v1/contracts/{CONTRACT}/statement", params={"period": "2026-11"}).text
        assert "计入中断 counts as outage: announced when or after it began" in page
    finally:
        client.delete("/v1/maintenance/m-late")


@pytest.mark.parametrize("change, field", [
    ({"customer_id": "acme"}, "contract_id"),  # two scopes
    ({"rrule": "FREQ=MINUTELY"}, "rrule"),
    ({"rrule": "FREQ=WEEKLY;DTSTART=20261101T000000Z"}, "rrule"),
    ({"rrule": "every sunday"}, "rrule"),
    ({"ends_at": "2026-11-01T01:00:00+08:00"}, "ends_at"),
    ({"ends_at": "2026-11-20T01:00:00+08:00"}, "ends_at"),  # longer than 7 days
    ({"starts_at": "2026-11-01T02:00:00"}, "starts_at"),  # no offset
    ({"contract_id": "c-nope"}, "contract_id"),
    ({"id": "has space"}, "id"),
])
def test_bad_windows_are_422_naming_the_field_and_store_nothing(api, change, field):
    client, _ = api
    res = client.post("/v1/maintenance", json={**WEEKLY, "id": "m-bad", **change} if "id" not in change
                      else {**WEEKLY, **change})
    assert res.status_code == 422, res.text
    assert field in res.text
    assert client.get("/v1/maintenance").json() == []


def test_a_second_window_with_the_same_id_is_409(api):
    client, _ = api
    assert client.post("/v1/maintenance", json={**WEEKLY, "id": "m-twice"}).status_code == 201
    try:
        res = client.post("/v1/maintenance", json={**WEEKLY, "id": "m-twice"})
        assert res.status_code == 409 and "m-twice" in res.text
    finally:
        client.delete("/v1/maintenance/m-twice")


def test_icalendar_out_keeps_the_rule_in_the_contracts_zone(api):
    client, _ = api
    assert client.post("/v1/maintenance", json=WEEKLY).status_code == 201
    try:
        res = client.get("/v1/maintenance.ics")
        assert res.headers["content-type"].startswith("text/calendar")
        [ev] = Calendar.from_ical(res.content).walk("VEVENT")
        assert ev["rrule"].to_ical() == b"FREQ=WEEKLY;COUNT=8;BYDAY=SU"
        assert ev["dtstart"].dt.isoformat() == "2026-11-01T02:00:00+08:00"
        assert str(ev["dtstart"].params["TZID"]) == "Asia/Shanghai"
        assert b"BEGIN:VTIMEZONE" in res.content
    finally:
        client.delete("/v1/maintenance/m-sun")


VENDOR_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//vendor//maintenance//EN\r
BEGIN:VEVENT\r
UID:upgrade-2026-11-15@vendor.example\r
DTSTAMP:20261101T000000Z\r
CREATED:20261101T000000Z\r
DTSTART:20261114T180000Z\r
DTEND:20261114T190000Z\r
SUMMARY:Storage upgrade\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_a_vendors_calendar_imports_once_however_often_it_is_imported(api):
    client, _ = api
    for _ in range(2):
        res = client.post("/v1/maintenance/import", params={"contract_id": CONTRACT}, content=VENDOR_ICS,
                          headers={"Content-Type": "text/calendar"})
        assert res.status_code == 200, res.text
    [w] = client.get("/v1/maintenance").json()
    try:
        assert (w["source"], w["note"], w["announced_at"]) == ("ics", "Storage upgrade", "2026-11-01T00:00:00Z")
        assert credits(client)["outage"]["seconds"] == 3600  # 02:00–03:00 Shanghai is 18:00–19:00 UTC
    finally:
        client.delete(f"/v1/maintenance/{w['id']}")


@pytest.mark.parametrize("body, words", [
    (b"not a calendar", "file: not iCalendar"),
    (VENDOR_ICS.replace(b"UID:upgrade-2026-11-15@vendor.example\r\n", b""), "VEVENT 1: no UID"),
    (VENDOR_ICS.replace(b"DTSTART:20261114T180000Z", b"DTSTART;VALUE=DATE:20261114"), "whole day"),
    (VENDOR_ICS.replace(b"DTSTART:20261114T180000Z", b"DTSTART:20261114T180000"), "floating time"),
    (VENDOR_ICS.replace(b"DTEND:20261114T190000Z", b"DTEND:20261114T170000Z"), "ends_at"),
    (VENDOR_ICS.replace(b"DTSTART:20261114T180000Z", b"DTSTART:garbage"), "VEVENT 1 (UID upgrade-2026-11-15"),
])
def test_a_bad_calendar_is_422_naming_the_event_and_imports_nothing(api, body, words):
    client, _ = api
    res = client.post("/v1/maintenance/import", params={"contract_id": CONTRACT}, content=body)
    assert res.status_code == 422 and words in res.text, res.text
    assert client.get("/v1/maintenance").json() == []


def test_windows_in_sla_rules_maintenance_are_stored_kept_in_step_and_not_deleted_by_the_api(tmp_path):
    import shutil

    from conftest import RULES_DIR
    rules = tmp_path / "sla_rules"
    shutil.copytree(RULES_DIR, rules)
    (rules / "maintenance").mkdir()
    window = {k: v for k, v in WEEKLY.items() if k != "rrule"}
    (rules / "maintenance" / "vendor.yaml").write_text(yaml.safe_dump({"windows": [window]}), encoding="utf-8")
    client, _ = service_client(f"sqlite+aiosqlite:///{tmp_path}/y.db", rules_dir=str(rules))
    with client:
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/xiamen-mail.yaml").read_text())
        body.update(id=CONTRACT, customer="acme")
        assert client.post("/v1/contracts", json=body).status_code == 201
        # the contract did not exist at start: the file's window was skipped; a reload stores it
        assert client.get("/v1/maintenance").json() == []
        assert client.post("/v1/admin/rules/reload").status_code == 200
        [w] = client.get("/v1/maintenance").json()
        assert (w["id"], w["source"]) == ("m-sun", "yaml")
        res = client.delete("/v1/maintenance/m-sun")
        assert res.status_code == 409 and "sla_rules/maintenance" in res.text
        (rules / "maintenance" / "vendor.yaml").write_text("windows: []\n", encoding="utf-8")
        assert client.post("/v1/admin/rules/reload").status_code == 200
        assert client.get("/v1/maintenance").json() == []
