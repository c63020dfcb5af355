"""Planned maintenance in the engine (issue 19, SEMANTICS §4): a window announced
before it began, and within ``maintenance_max`` where the template sets one,
takes out only the part of an outage that overlaps it; one announced late or too
long takes out nothing, and the report says why."""
from conftest import incident, make_case, row

DAY = "2026-11-10T"


def window(id="m1", start="02:00", end="03:00", announced="2026-11-09T12:00:00+08:00", **kw) -> dict:
    return {"id": id, "start": f"{DAY}{start}:00+08:00", "end": f"{DAY}{end}:00+08:00", "announced_at": announced,
            **kw}


def mail_case(windows: list[dict], incidents=None) -> dict:
    incidents = incidents or [incident("o", "mail_send_receive", f"{DAY}01:00:00+08:00", f"{DAY}04:00:00+08:00")]
    case = make_case("xiamen-mail", incidents, "2026-11", "2026-12-01T00:00:00+08:00", month_fee="300.00")
    case["maintenance"] = windows
    return case


def test_a_window_announced_in_time_takes_out_only_the_overlapping_hour(evaluate):
    without = evaluate(mail_case([]))
    r = evaluate(mail_case([window(channel="e-mail", note="存储扩容")]))
    assert without["outage"]["seconds"] == 3 * 3600
    assert r["outage"]["seconds"] == 2 * 3600
    [m] = r["maintenance"]
    assert (m["id"], m["excluded"], m["why_counted"], m["outage_excluded_seconds"]) == ("m1", True, None, 3600)
    assert (m["start"], m["end"], m["channel"], m["note"]) == \
        ("2026-11-10T02:00:00+08:00", "2026-11-10T03:00:00+08:00", "e-mail", "存储扩容")
    assert m["clause"] == "违约 3" and "短时间" in m["original"]
    # the incident still counts (one affected day, its window still reported as the provider's)
    assert row(r, "o", "handle_24h")["status"] != "excluded"
    assert r["credit"]["lines"][0]["quantity"] == 1


def test_announced_late_or_longer_than_maintenance_max_takes_out_nothing(evaluate):
    late = evaluate(mail_case([window(announced="2026-11-10T02:00:00+08:00")]))
    assert late["outage"]["seconds"] == 3 * 3600
    assert (late["maintenance"][0]["excluded"], late["maintenance"][0]["why_counted"]) == \
        (False, "announced when or after it began")
    silent = evaluate(mail_case([window(announced=None)]))
    assert silent["outage"]["seconds"] == 3 * 3600 and silent["maintenance"][0]["why_counted"].startswith("not ann")
    # xiamen-mail maintenance_max is 2 h (违约 3 "短时间", basis: policy): a 3 h window counts in full
    long = evaluate(mail_case([window(start="01:00", end="04:00")]))
    assert long["outage"]["seconds"] == 3 * 3600
    assert long["maintenance"][0]["why_counted"] == "longer than maintenance_max (2 h)"
    # a contract's own maintenance_max overrides the template's
    case = mail_case([window(start="01:00", end="04:00")])
    case["contract"]["params"] = {"maintenance_max": "4h"}
    assert evaluate(case)["outage"]["seconds"] == 0


def test_an_outage_wholly_inside_is_maintenance_and_its_windows_are_excluded(evaluate):
    inside = [incident("i", "mail_send_receive", f"{DAY}02:10:00+08:00", f"{DAY}02:40:00+08:00")]
    r = evaluate(mail_case([window()], inside))
    assert r["outage"]["seconds"] == 0 and r["credit"]["amount"] == "0.00"
    assert {w["status"] for w in r["windows"] if w["incident_id"] == "i"} == {"excluded"}
    assert {w["attribution"] for w in r["windows"]} == {"announced_maintenance"}
    assert r["maintenance"][0]["outage_excluded_seconds"] == 30 * 60


def test_a_window_clock_stands_still_inside_maintenance(evaluate):
    # ningbo-colo respond_1h: reported 10:00, maintenance 10:00–12:00 announced, acknowledged 12:30
    inc = incident("f", "server_fault", f"{DAY}10:00:00+08:00", f"{DAY}13:00:00+08:00",
                   acknowledged_at=f"{DAY}12:30:00+08:00")
    case = make_case("ningbo-colo", [inc], "2026-11", "2026-12-01T00:00:00+08:00")
    without = row(evaluate(case), "f", "respond_1h")
    case["maintenance"] = [window(start="10:00", end="12:00")]
    respond = row(evaluate(case), "f", "respond_1h")
    assert (without["status"], without["elapsed_seconds"]) == ("breached", 150 * 60)
    assert (respond["status"], respond["elapsed_seconds"]) == ("met", 30 * 60)
    assert respond["deadline"] == f"{DAY}13:00:00+08:00"


def test_a_targets_window_covers_only_that_targets_incidents(evaluate):
    incidents = [incident("a", "mail_send_receive", f"{DAY}02:00:00+08:00", f"{DAY}02:30:00+08:00", target="smtp-a"),
                 incident("b", "mail_send_receive", f"{DAY}02:30:00+08:00", f"{DAY}02:50:00+08:00", target="smtp-b")]
    r = evaluate(mail_case([window(target="smtp-a")], incidents))
    assert r["outage"]["seconds"] == 20 * 60  # b's 20 minutes; a's half hour was maintenance
    assert r["maintenance"][0]["outage_excluded_seconds"] == 30 * 60


def test_an_unknown_incident_in_a_window_is_maintenance_too_and_customer_attributed_ones_stay(evaluate):
    incidents = [incident("u", "mail_send_receive", f"{DAY}02:10:00+08:00", f"{DAY}02:20:00+08:00",
                          attribution="unknown"),
                 incident("c", "mail_send_receive", f"{DAY}02:30:00+08:00", f"{DAY}02:40:00+08:00",
                          attribution="customer")]
    r = evaluate(mail_case([window()], incidents))
    assert {w["incident_id"]: w["attribution"] for w in r["windows"]} == \
        {"u": "announced_maintenance", "c": "customer"}
    assert r["credit"]["owed_provisional"] == "0.00"


def test_slawatch_evaluate_and_the_evaluations_route_take_the_cases_maintenance(client):
    import json
    import subprocess
    import sys

    from conftest import ROOT
    case = json.dumps(mail_case([window()])).encode()
    cli = subprocess.run([sys.executable, "-m", "app.cli", "evaluate", "-"], input=case, capture_output=True,
                         cwd=ROOT, timeout=60, check=True)
    api = client.post("/v1/evaluations", content=case)
    assert api.status_code == 200 and json.loads(cli.stdout) == api.json()
    assert api.json()["outage"]["seconds"] == 2 * 3600 and api.json()["maintenance"][0]["excluded"] is True
    bad = json.loads(case)
    bad["maintenance"][0]["end"] = bad["maintenance"][0]["start"]
    res = client.post("/v1/evaluations", json=bad)
    assert res.status_code == 422 and "/maintenance/0/end" in res.text, res.text
