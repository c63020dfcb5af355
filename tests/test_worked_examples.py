"""SEMANTICS §12: the five worked examples, exact to the cent and the second."""
import json

from conftest import ROOT, incident, make_case, row

XIAMEN_PAYMENTS = [{"paid_at": "2025-12-20T10:00:00+08:00", "amount": "3600.00", "months": "2026-01/2026-12"}]


def test_example1_xiamen_mail(evaluate):
    case = json.loads((ROOT / "tests/cases/example1_xiamen.json").read_text())
    r = evaluate(case)
    a, b, c = row(r, "A", "handle_24h"), row(r, "B", "handle_24h"), row(r, "C", "handle_24h")
    assert (a["status"], a["elapsed_seconds"], a["overdue_seconds"]) == ("met", 3 * 3600 + 25 * 60, 0)
    assert a["clause"] == "乙方 7" and a["basis"] == "contract" and a["provisional"] is False
    assert (b["status"], b["elapsed_seconds"], b["overdue_seconds"]) == ("excluded", 0, 0)
    assert c["status"] == "breached"
    assert c["deadline"] == "2026-10-21T08:00:00+08:00"
    assert c["overdue_seconds"] == 49 * 3600
    assert [x["incident_id"] for x in r["windows"]] == ["A", "B", "C"]
    assert r["outage"]["affected_days"] == ["2026-10-03", "2026-10-04", "2026-10-20",
                                            "2026-10-21", "2026-10-22", "2026-10-23"]
    assert r["outage"]["seconds"] == (3 * 3600 + 30 * 60) + 73 * 3600
    credit = r["credit"]
    assert credit["lines"] == [{"rule": "per_affected_day", "amount": "58.06", "clause": "违约 4",
                                "basis": "contract", "quantity": 6,
                                "original": credit["lines"][0]["original"]}]
    assert (credit["uncapped"], credit["cap"], credit["cap_rule"], credit["amount"], credit["currency"]) == \
        ("58.06", "300.00", "month_fee", "58.06", "CNY")
    t = r["termination_right"]
    assert t == {"granted": True, "since": "2026-10-23T08:00:00+08:00", "clause": "违约 4",
                 "original": t["original"], "basis": "contract", "provisional": False}
    assert (credit["owed"], credit["owed_provisional"]) == ("58.06", "0.00")  # every incident is classified
    assert "72小时" in t["original"]


def test_example2_ningbo_resolve_one_working_day(evaluate):
    inc = incident("f", "server_fault", "2026-11-20T16:00:00+08:00", "2026-11-23T15:00:00+08:00",
                   acknowledged_at="2026-11-20T16:40:00+08:00")
    r = evaluate(make_case("ningbo-colo", [inc], "2026-11", "2026-12-01T00:00:00+08:00"))
    respond, resolve = row(r, "f", "respond_1h"), row(r, "f", "resolve_1wd")
    assert (respond["status"], respond["deadline"]) == ("met", "2026-11-20T17:00:00+08:00")
    assert respond["elapsed_seconds"] == 40 * 60
    assert resolve["deadline"] == "2026-11-23T16:00:00+08:00"
    assert resolve["status"] == "met"
    # 2 h on Friday, 6 h on Monday up to 15:00
    assert resolve["elapsed_seconds"] == 8 * 3600
    assert [x["window"] for x in r["windows"]] == ["respond_1h", "resolve_1wd", "notify"]
    assert r["termination_right"] == {"granted": False, "since": None, "clause": None, "basis": None,
                                      "provisional": False}
    assert r["credit"]["cap"] is None and r["credit"]["cap_rule"] is None
    assert r["credit"]["lines"] == [] and r["credit"]["amount"] == "0.00"


def test_example4_shengjing_trailing_12_months_cap(evaluate):
    payments = [{"paid_at": "2025-03-01T00:00:00+08:00", "amount": "5000.00", "months": "2025-03/2026-02"},
                {"paid_at": "2026-03-01T00:00:00+08:00", "amount": "6000.00", "months": "2026-03/2027-02"}]
    policy = {"rule": "pro_rata_downtime"}
    nov = evaluate(make_case("shengjing-crm",
                             [incident("n", "service_unavailable", "2026-11-01T00:00:00+08:00", "2026-11-01T06:00:00+08:00")],
                             "2026-11", "2026-12-01T00:00:00+08:00", month_fee="500.00", payments=payments,
                             credit_policy=policy))
    assert (nov["credit"]["cap"], nov["credit"]["cap_rule"]) == ("6000.00", "trailing_12m_paid")
    assert nov["credit"]["cap_event_at"] == "2026-11-01T00:00:00+08:00"
    feb = evaluate(make_case("shengjing-crm",
                             [incident("f", "service_unavailable", "2026-02-15T00:00:00+08:00", "2026-02-15T06:00:00+08:00")],
                             "2026-02", "2026-03-01T00:00:00+08:00", month_fee="500.00", payments=payments,
                             credit_policy=policy))
    assert feb["credit"]["cap"] == "5000.00"
    # pro rata: 500 × 6 h / (28 × 24 h) = 4.464… → 4.46
    assert feb["credit"]["lines"][0]["amount"] == "4.46" and feb["credit"]["lines"][0]["basis"] == "policy"


def _ningbo_terminated(billing, start, end, amount, at):
    return make_case("ningbo-colo", [], at[:7], "2027-01-01T00:00:00+08:00", billing=billing,
                     terminated={"at": at, "reason": "policy",
                                 "paid_period": {"start": start, "end": end, "amount": amount}})


def test_example5_ningbo_termination_refund_annual(evaluate):
    r = evaluate(_ningbo_terminated("annual", "2026-01-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00",
                                    "12000.00", "2026-10-01T00:00:00+08:00"))
    lines = {x["rule"]: x for x in r["credit"]["lines"]}
    assert lines["unused"]["amount"] == "3024.66"
    assert lines["free_days"]["amount"] == "230.14" and lines["free_days"]["quantity"] == 7
    assert {x["clause"] for x in lines.values()} == {"八.5"}
    assert r["credit"]["amount"] == r["credit"]["uncapped"] == "3254.80"


def test_example5_ningbo_termination_refund_monthly(evaluate):
    r = evaluate(_ningbo_terminated("monthly", "2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00",
                                    "1000.00", "2026-10-21T00:00:00+08:00"))
    assert [(x["rule"], x["amount"]) for x in r["credit"]["lines"]] == [("unused", "354.84"), ("free_days", "96.77")]
    assert r["credit"]["amount"] == "451.61"


def test_termination_refund_only_in_the_period_containing_it(evaluate):
    case = _ningbo_terminated("monthly", "2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00",
                              "1000.00", "2026-10-21T00:00:00+08:00")
    case["period"] = "2026-09"
    assert evaluate(case)["credit"]["lines"] == []


def test_termination_by_customer_gets_no_refund(evaluate):
    case = _ningbo_terminated("monthly", "2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00",
                              "1000.00", "2026-10-21T00:00:00+08:00")
    case["contract"]["terminated"]["reason"] = "customer"
    assert evaluate(case)["credit"]["lines"] == []
