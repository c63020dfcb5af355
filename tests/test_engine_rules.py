"""The rules of SEMANTICS §4–§10 one at a time, at their boundaries."""
import pytest
from conftest import incident, make_case, row

XM_PAY = [{"paid_at": "2025-12-20T10:00:00+08:00", "amount": "3600.00", "months": "2026-01/2026-12"}]
OCT_END = "2026-11-01T00:00:00+08:00"


def xiamen(incidents, at=OCT_END, **kw):
    kw.setdefault("month_fee", "300.00")
    kw.setdefault("payments", XM_PAY)
    return make_case("xiamen-mail", incidents, "2026-10", at, **kw)


def maint(started, resolved, announced):
    return incident("m", "mail_send_receive", started, resolved, attribution="announced_maintenance",
                    announced_at=announced)


# --- §4 attribution and the maintenance rule ---------------------------------

def test_announced_maintenance_within_max_is_excluded(evaluate):
    r = evaluate(xiamen([maint("2026-10-05T01:00:00+08:00", "2026-10-05T03:00:00+08:00", "2026-10-04T12:00:00+08:00")]))
    assert row(r, "m", "handle_24h")["status"] == "excluded"
    assert r["outage"]["seconds"] == 0 and r["credit"]["amount"] == "0.00"


def test_maintenance_longer_than_max_counts_as_provider(evaluate):
    r = evaluate(xiamen([maint("2026-10-05T01:00:00+08:00", "2026-10-05T03:00:01+08:00", "2026-10-04T12:00:00+08:00")]))
    w = row(r, "m", "handle_24h")
    assert (w["status"], w["attribution"]) == ("met", "provider")
    assert r["outage"]["seconds"] == 7201 and r["outage"]["affected_days"] == ["2026-10-05"]


def test_maintenance_announced_after_it_began_counts_as_provider(evaluate):
    r = evaluate(xiamen([maint("2026-10-05T01:00:00+08:00", "2026-10-05T01:30:00+08:00", "2026-10-05T01:00:00+08:00")]))
    assert row(r, "m", "handle_24h")["attribution"] == "provider"
    assert r["credit"]["amount"] == "9.68"  # 300 × 1/31


def test_contract_params_override_maintenance_max(evaluate):
    case = xiamen([maint("2026-10-05T01:00:00+08:00", "2026-10-05T05:00:00+08:00", "2026-10-04T12:00:00+08:00")],
                  params={"maintenance_max": "4h"})
    assert row(evaluate(case), "m", "handle_24h")["status"] == "excluded"


def test_aliyun_has_no_maintenance_max(evaluate):
    inc = maint("2026-10-05T01:00:00+08:00", "2026-10-05T09:00:00+08:00", "2026-10-01T12:00:00+08:00")
    r = evaluate(make_case("aliyun-mail", [inc], "2026-10", OCT_END))
    assert row(r, "m", "resolve_2h")["status"] == "excluded"


def test_unknown_attribution_counts_and_is_provisional(evaluate):
    r = evaluate(xiamen([incident("u", "mail_send_receive", "2026-10-05T01:00:00+08:00",
                                  "2026-10-05T02:00:00+08:00", attribution="unknown")]))
    w = row(r, "u", "handle_24h")
    assert (w["status"], w["provisional"]) == ("met", True)
    assert r["outage"]["seconds"] == 3600


def test_what_rests_on_an_unclassified_incident_is_shown_apart(evaluate):
    """A claim (attribution unknown) counts, provisionally: its credit is owed_provisional,
    and a termination right resting on it is provisional until staff classify it."""
    claim = incident("claim", "mail_send_receive", "2026-10-10T00:00:00+08:00", "2026-10-14T00:00:00+08:00",
                     attribution="unknown")
    known = incident("known", "mail_send_receive", "2026-10-20T10:00:00+08:00", "2026-10-20T11:00:00+08:00")
    r = evaluate(xiamen([claim, known]))
    c, t = r["credit"], r["termination_right"]
    # 300 × 5/31 = 48.39 with the claim (10–13 and 20), 300 × 1/31 = 9.68 confirmed
    assert (c["amount"], c["owed"], c["owed_provisional"]) == ("48.39", "9.68", "38.71")
    assert (t["granted"], t["provisional"]) == (True, True)
    classified = evaluate(xiamen([{**claim, "attribution": "provider"}, known]))
    assert (classified["credit"]["owed"], classified["credit"]["owed_provisional"]) == ("48.39", "0.00")
    assert classified["termination_right"]["provisional"] is False


@pytest.mark.parametrize("attribution", ["customer", "third_party", "force_majeure"])
def test_excluded_attributions(evaluate, attribution):
    r = evaluate(xiamen([incident("x", "mail_send_receive", "2026-10-05T01:00:00+08:00",
                                  "2026-10-07T02:00:00+08:00", attribution=attribution)]))
    w = row(r, "x", "handle_24h")
    assert (w["status"], w["elapsed_seconds"], w["overdue_seconds"], w["provisional"]) == ("excluded", 0, 0, False)
    assert r["outage"] == {"seconds": 0, "affected_days": [], "availability_percent": "100.0000"}


# --- §5 windows ----------------------------------------------------------------

def test_open_incident_running_then_breached(evaluate):
    inc = incident("o", "mail_send_receive", "2026-10-05T10:00:00+08:00")
    running = row(evaluate(xiamen([inc], at="2026-10-06T09:00:00+08:00")), "o", "handle_24h")
    assert (running["status"], running["elapsed_seconds"], running["stopped_at"]) == ("running", 23 * 3600, None)
    assert running["deadline"] == "2026-10-06T10:00:00+08:00"
    breached = row(evaluate(xiamen([inc], at="2026-10-06T12:30:00+08:00")), "o", "handle_24h")
    assert (breached["status"], breached["overdue_seconds"]) == ("breached", 2 * 3600 + 1800)


def test_exactly_at_the_limit_is_met(evaluate):
    inc = incident("e", "mail_send_receive", "2026-10-05T10:00:00+08:00", "2026-10-06T10:00:00+08:00")
    w = row(evaluate(xiamen([inc])), "e", "handle_24h")
    assert (w["status"], w["elapsed_seconds"]) == ("met", 86400)


def test_stop_later_than_evaluation_instant_does_not_exist_yet(evaluate):
    inc = incident("f", "mail_send_receive", "2026-10-05T10:00:00+08:00", "2026-10-05T12:00:00+08:00")
    r = evaluate(xiamen([inc], at="2026-10-05T11:00:00+08:00"))
    assert row(r, "f", "handle_24h")["status"] == "running"
    assert r["outage"]["seconds"] == 3600


def test_clock_starts_at_reported_not_started(evaluate):
    inc = incident("r", "mail_send_receive", "2026-10-05T08:00:00+08:00", "2026-10-06T09:00:00+08:00",
                   reported_at="2026-10-05T10:00:00+08:00")
    w = row(evaluate(xiamen([inc])), "r", "handle_24h")
    assert (w["status"], w["elapsed_seconds"], w["clock_start"]) == ("met", 23 * 3600, "2026-10-05T10:00:00+08:00")


def test_acknowledgement_window_stops_at_resolution_without_ack(evaluate):
    inc = incident("a", "server_fault", "2026-11-02T10:00:00+08:00", "2026-11-02T10:30:00+08:00")
    r = evaluate(make_case("ningbo-colo", [inc], "2026-11", "2026-12-01T00:00:00+08:00"))
    assert (row(r, "a", "respond_1h")["status"], row(r, "a", "respond_1h")["elapsed_seconds"]) == ("met", 1800)
    assert row(r, "a", "notify")["status"] == "breached"  # never notified, 1 h passed


def test_waiting_on_customer_pause_stops_every_clock_and_the_outage(evaluate):
    inc = incident("p", "server_fault", "2026-11-02T10:00:00+08:00", "2026-11-02T20:00:00+08:00",
                   acknowledged_at="2026-11-02T10:10:00+08:00", notified_at="2026-11-02T10:20:00+08:00",
                   pauses=[{"start": "2026-11-02T11:00:00+08:00", "end": "2026-11-03T11:00:00+08:00",
                            "reason": "waiting_on_customer"}])
    r = evaluate(make_case("ningbo-colo", [inc], "2026-11", "2026-12-01T00:00:00+08:00"))
    w = row(r, "p", "resolve_1wd")
    # 1 h before the pause (10:00–11:00); the clock is frozen until the incident closes at 20:00
    assert (w["status"], w["elapsed_seconds"]) == ("met", 3600)
    assert w["deadline"] == "2026-11-04T10:00:00+08:00"  # 1 h on 11-02, 7 h from 11:00 on 11-03, 1 h on 11-04
    assert r["outage"]["seconds"] == 3600


def test_pause_with_other_reason_does_not_stop_the_clock(evaluate):
    inc = incident("q", "server_fault", "2026-11-02T10:00:00+08:00", "2026-11-02T12:00:00+08:00",
                   acknowledged_at="2026-11-02T10:10:00+08:00",
                   pauses=[{"start": "2026-11-02T10:00:00+08:00", "end": "2026-11-02T11:00:00+08:00",
                            "reason": "vendor"}])
    r = evaluate(make_case("ningbo-colo", [inc], "2026-11", "2026-12-01T00:00:00+08:00"))
    assert row(r, "q", "resolve_1wd")["elapsed_seconds"] == 7200
    assert r["outage"]["seconds"] == 7200


def test_open_pause_holds_the_clock_until_now(evaluate):
    inc = incident("h", "mail_send_receive", "2026-10-05T10:00:00+08:00",
                   pauses=[{"start": "2026-10-05T11:00:00+08:00", "end": None}])
    w = row(evaluate(xiamen([inc], at="2026-10-07T11:00:00+08:00")), "h", "handle_24h")
    assert (w["status"], w["elapsed_seconds"]) == ("running", 3600)
    assert w["deadline"] == "2026-10-08T10:00:00+08:00"


def test_rows_only_for_incidents_reported_in_the_period_ordered(evaluate):
    incs = [incident("late", "mail_send_receive", "2026-10-20T10:00:00+08:00", "2026-10-20T11:00:00+08:00"),
            incident("sept", "mail_send_receive", "2026-09-30T23:00:00+08:00", "2026-10-01T01:00:00+08:00"),
            incident("early", "mail_send_receive", "2026-10-02T10:00:00+08:00", "2026-10-02T11:00:00+08:00")]
    r = evaluate(xiamen(incs))
    assert [x["incident_id"] for x in r["windows"]] == ["early", "late"]
    # September's incident still adds its October hour of outage
    assert r["outage"]["seconds"] == 3 * 3600
    assert r["outage"]["affected_days"] == ["2026-10-01", "2026-10-02", "2026-10-20"]


def test_notify_limit_param_override_is_the_contracts(evaluate):
    inc = incident("n", "server_fault", "2026-11-02T10:00:00+08:00", "2026-11-02T12:00:00+08:00",
                   acknowledged_at="2026-11-02T10:05:00+08:00", notified_at="2026-11-02T10:45:00+08:00")
    default = evaluate(make_case("ningbo-colo", [inc], "2026-11", "2026-12-01T00:00:00+08:00"))
    assert (row(default, "n", "notify")["status"], row(default, "n", "notify")["basis"]) == ("met", "policy")
    tight = evaluate(make_case("ningbo-colo", [inc], "2026-11", "2026-12-01T00:00:00+08:00",
                               params={"notify_limit": "30m"}))
    w = row(tight, "n", "notify")
    assert (w["status"], w["overdue_seconds"], w["basis"], w["limit"]) == ("breached", 900, "contract", "30m")


def test_non_outage_categories_have_windows_but_no_outage(evaluate):
    inc = incident("g", "mail_general", "2026-10-05T10:00:00+08:00", "2026-10-06T10:00:00+08:00",
                   acknowledged_at="2026-10-05T16:00:00+08:00")
    r = evaluate(make_case("aliyun-mail", [inc], "2026-10", OCT_END, month_fee="150.00",
                           credit_policy={"rule": "pro_rata_downtime"}))
    assert (row(r, "g", "respond_5h")["status"], row(r, "g", "respond_5h")["overdue_seconds"]) == ("breached", 3600)
    assert r["outage"]["seconds"] == 0 and r["credit"]["amount"] == "0.00"


def test_shengjing_activation_on_working_days(evaluate):
    # payment confirmed Wed 09-30 17:00: 1 h that day, then 10-01..07 off, Thu 10-08 9 h, Fri 10-09 8 h → 17:00
    inc = incident("act", "activation", "2026-09-30T17:00:00+08:00", "2026-10-09T17:30:00+08:00")
    r = evaluate(make_case("shengjing-crm", [inc], "2026-09", "2026-10-31T00:00:00+08:00"))
    w = row(r, "act", "activate_2wd")
    assert (w["deadline"], w["status"], w["overdue_seconds"]) == ("2026-10-09T17:00:00+08:00", "breached", 1800)


# --- §6/§8 outage and affected days --------------------------------------------

def test_outage_ending_at_midnight_does_not_touch_the_next_day(evaluate):
    r = evaluate(xiamen([incident("m", "mail_send_receive", "2026-10-05T23:00:00+08:00", "2026-10-06T00:00:00+08:00")]))
    assert r["outage"]["affected_days"] == ["2026-10-05"]
    r = evaluate(xiamen([incident("m", "mail_send_receive", "2026-10-05T23:00:00+08:00", "2026-10-06T00:00:01+08:00")]))
    assert r["outage"]["affected_days"] == ["2026-10-05", "2026-10-06"]


def test_overlapping_incidents_count_once(evaluate):
    incs = [incident("a", "mail_send_receive", "2026-10-05T10:00:00+08:00", "2026-10-05T12:00:00+08:00"),
            incident("b", "mail_send_receive", "2026-10-05T11:00:00+08:00", "2026-10-05T13:00:00+08:00")]
    r = evaluate(xiamen(incs))
    assert r["outage"]["seconds"] == 3 * 3600 and r["credit"]["lines"][0]["quantity"] == 1


def test_open_incident_outage_stops_at_the_period_end(evaluate):
    inc = incident("o", "mail_send_receive", "2026-10-31T22:00:00+08:00")
    r = evaluate(xiamen([inc], at="2026-11-02T00:00:00+08:00"))
    assert r["outage"]["seconds"] == 2 * 3600
    assert row(r, "o", "handle_24h")["status"] == "breached"
    assert row(r, "o", "handle_24h")["overdue_seconds"] == 2 * 3600


def test_days_are_read_in_the_contracts_zone(evaluate):
    inc = incident("z", "mail_send_receive", "2026-10-05T23:00:00+00:00", "2026-10-06T00:30:00+00:00")
    shanghai = evaluate(xiamen([inc]))
    utc = evaluate(xiamen([inc], timezone="UTC"))
    assert shanghai["outage"]["affected_days"] == ["2026-10-06"]
    assert utc["outage"]["affected_days"] == ["2026-10-05", "2026-10-06"]
    assert row(utc, "z", "handle_24h")["deadline"] == "2026-10-06T23:00:00+00:00"


# --- §9 caps -------------------------------------------------------------------

def test_month_fee_cap_is_what_was_paid_for_that_month(evaluate):
    incs = [incident(f"d{d}", "mail_send_receive", f"2026-10-{d:02d}T10:00:00+08:00", f"2026-10-{d:02d}T11:00:00+08:00")
            for d in range(1, 21)]
    pay = [{"paid_at": "2026-09-01T10:00:00+08:00", "amount": "500.00", "months": "2026-09/2026-12"}]
    r = evaluate(xiamen(incs, payments=pay))
    # 300 × 20/31 = 193.55, cap 500/4 = 125.00
    assert (r["credit"]["uncapped"], r["credit"]["cap"], r["credit"]["amount"]) == ("193.55", "125.00", "125.00")


def test_month_fee_cap_ignores_payments_after_the_evaluation_instant(evaluate):
    pay = [{"paid_at": "2026-11-05T10:00:00+08:00", "amount": "300.00", "months": "2026-10/2026-10"}]
    r = evaluate(xiamen([incident("a", "mail_send_receive", "2026-10-05T10:00:00+08:00", "2026-10-05T11:00:00+08:00")],
                        payments=pay))
    assert (r["credit"]["cap"], r["credit"]["amount"]) == ("0.00", "0.00")


def test_total_paid_cap_less_credits_already_granted(evaluate):
    inc = incident("a", "mail_send_receive", "2026-10-05T00:00:00+08:00", "2026-10-15T00:00:00+08:00")
    pay = [{"paid_at": "2026-01-05T09:30:00+08:00", "amount": "100.00", "months": "2026-01/2026-12"}]
    r = evaluate(make_case("aliyun-mail", [inc], "2026-10", OCT_END, month_fee="150.00", payments=pay,
                           credits_paid="40.00", credit_policy={"rule": "pro_rata_downtime"}))
    # 150 × 10/31 = 48.39 uncapped; cap 100 − 40 = 60
    assert (r["credit"]["uncapped"], r["credit"]["cap"], r["credit"]["cap_rule"], r["credit"]["amount"]) == \
        ("48.39", "60.00", "total_paid", "48.39")


@pytest.mark.parametrize("hours, percent, amount", [(0, "0", "0.00"), (1, "10", "15.00"), (8, "25", "37.50")])
def test_availability_tiers(evaluate, hours, percent, amount):
    # October 2026 has 744 h: 1 h → 99.866 % (< 99.9), 8 h → 98.925 % (< 99.0)
    incs = [incident("a", "mail_send_receive", "2026-10-05T00:00:00+08:00", f"2026-10-05T{hours:02d}:00:00+08:00")]
    r = evaluate(make_case("aliyun-mail", incs, "2026-10", OCT_END, month_fee="150.00",
                           credit_policy={"rule": "availability_tiers",
                                          "tiers": [{"below": "99.9", "percent": "10"}, {"below": "99.0", "percent": "25"}]}))
    line = r["credit"]["lines"][0]
    assert (line["rule"], line["percent"], line["amount"], line["basis"]) == ("availability_tiers", percent, amount, "policy")


def test_no_policy_no_credit_lines_where_the_contract_names_none(evaluate):
    inc = incident("a", "service_unavailable", "2026-10-05T00:00:00+08:00", "2026-10-06T00:00:00+08:00")
    r = evaluate(make_case("shengjing-crm", [inc], "2026-10", OCT_END))
    assert r["credit"]["lines"] == [] and r["credit"]["amount"] == "0.00" and r["credit"]["cap_rule"] == "trailing_12m_paid"


# --- §10 termination right -----------------------------------------------------

@pytest.mark.parametrize("end, granted", [("2026-10-23T08:00:00+08:00", True), ("2026-10-23T07:59:59+08:00", False)])
def test_termination_right_at_exactly_72h(evaluate, end, granted):
    r = evaluate(xiamen([incident("c", "mail_send_receive", "2026-10-20T08:00:00+08:00", end)]))
    assert r["termination_right"]["granted"] is granted


def test_termination_right_not_before_it_is_reached(evaluate):
    inc = incident("c", "mail_send_receive", "2026-10-20T08:00:00+08:00")
    assert evaluate(xiamen([inc], at="2026-10-23T07:00:00+08:00"))["termination_right"]["granted"] is False
    t = evaluate(xiamen([inc], at="2026-10-23T08:00:00+08:00"))["termination_right"]
    assert (t["granted"], t["since"]) == (True, "2026-10-23T08:00:00+08:00")


def test_termination_interval_is_not_cut_at_the_period(evaluate):
    inc = incident("c", "mail_send_receive", "2026-09-29T00:00:00+08:00", "2026-10-03T06:00:00+08:00")
    t = evaluate(xiamen([inc]))["termination_right"]
    assert (t["granted"], t["since"]) == (True, "2026-10-02T00:00:00+08:00")


def test_overlapping_incidents_make_one_continuous_outage(evaluate):
    incs = [incident("a", "mail_send_receive", "2026-10-10T00:00:00+08:00", "2026-10-11T12:00:00+08:00"),
            incident("b", "mail_send_receive", "2026-10-11T12:00:00+08:00", "2026-10-13T00:00:00+08:00")]
    assert evaluate(xiamen(incs))["termination_right"]["since"] == "2026-10-13T00:00:00+08:00"


def test_customer_wait_breaks_continuity(evaluate):
    inc = incident("c", "mail_send_receive", "2026-10-10T00:00:00+08:00", "2026-10-14T00:00:00+08:00",
                   pauses=[{"start": "2026-10-12T00:00:00+08:00", "end": "2026-10-12T01:00:00+08:00"}])
    assert evaluate(xiamen([inc]))["termination_right"]["granted"] is False
