"""The contract ledger (SEMANTICS §13): worked examples 6–8 exact, every rule at
its boundaries, and bad input refused naming the field."""
import json
import subprocess
import sys

import pytest
from conftest import ROOT

from app.contracts.errors import CaseError
from app.ledger.service import ledger_case, validate_ledger_case

YEAR = {"start": "2026-01-01T00:00:00+08:00", "end": "2027-01-01T00:00:00+08:00"}


@pytest.fixture
def ledger(rules):
    def run(case):
        return ledger_case(validate_ledger_case(json.loads(json.dumps(case))), rules)
    return run


def case(template, at, invoices=(), storage=(), notices=(), **contract):
    return {"contract": {"id": "c", "template": template, **contract}, "invoices": list(invoices),
            "storage": list(storage), "notices": list(notices), "at": at}


def deadline(report, name):
    return next(d for d in report["deadlines"] if d["name"] == name)


EXAMPLE6 = case("xiamen-mail", "2026-04-01T00:00:00+08:00",
                invoices=[{"id": "inv", "amount": "3600.00", "due_at": "2026-01-01T00:00:00+08:00",
                           "paid_at": "2026-01-06T15:00:00+08:00"}],
                notices=[{"id": "n", "kind": "termination_request", "sent_at": "2026-03-15T10:00:00+08:00",
                          "channel": "email"}],
                series="G", term=YEAR)


def test_example6_xiamen(ledger):
    r = ledger(EXAMPLE6)
    assert [(c["rule"], c["invoice_id"], c["amount"], c["quantity"], c["clause"]) for c in r["charges"]] == \
        [("late_fee", "inv", "180.00", 5, "费用 4")]
    assert deadline(r, "unconditional_refund_until")["due_at"] == "2026-01-31T00:00:00+08:00"
    assert deadline(r, "termination_effective_earliest")["due_at"] == "2026-04-15T10:00:00+08:00"
    assert [d["name"] for d in r["deadlines"]] == ["unconditional_refund_until", "termination_effective_earliest"]
    assert r["status"] == {"service": "active", "service_since": None, "data": "kept", "data_since": None}


def test_example7_shengjing_overage(ledger):
    r = ledger(case("shengjing-crm", "2026-07-01T00:00:00+08:00", users=4, term=YEAR, storage=[
        {"at": "2026-03-10T10:00:00+08:00", "used_mb": "260"},
        {"at": "2026-05-01T09:00:00+08:00", "used_mb": "280"},
        {"at": "2026-06-15T12:00:00+08:00", "used_mb": "330"}]))
    assert [(c["rule"], c["quantity"], c["months"], c["amount"]) for c in r["charges"]] == \
        [("overage", 1, 10, "300.00"), ("overage", 1, 7, "210.00")]
    assert r["charges_total"] == "510.00"


def test_example8_shengjing_arrears(ledger):
    r = ledger(case("shengjing-crm", "2026-04-15T12:00:00+08:00", term=YEAR,
                    invoices=[{"id": "i", "amount": "6000.00", "due_at": "2026-03-01T00:00:00+08:00"}]))
    assert [(c["rule"], c["amount"], c["quantity"]) for c in r["charges"]] == [("interest", "135.00", 45)]
    assert r["status"] == {"service": "terminated", "service_since": "2026-03-31T00:00:00+08:00",
                           "data": "kept", "data_since": None}
    d = deadline(r, "data_may_be_deleted")
    assert (d["due_at"], d["passed"]) == ("2026-04-30T00:00:00+08:00", False)
    assert deadline(r, "reconnection_fee_applies")["due_at"] == "2026-03-31T00:00:00+08:00"
    assert deadline(r, "data_deleted")["due_at"] == "2026-07-09T00:00:00+08:00"  # 100 days after 03-31
    assert "data_export_until" not in {x["name"] for x in r["deadlines"]}  # arrears are a breach


@pytest.mark.parametrize("paid, fee, status", [
    # 12 h after due + 30 days: the contract had ended, paying reactivates it at the fee
    ("2026-03-31T12:00:00+08:00", ["200.00"], ("active", None, "kept", None)),
    ("2026-03-30T23:59:59+08:00", [], ("active", None, "kept", None)),  # just before it ended: no fee
    # more than 60 days after due: ended at due + 30 days, data deletable from due + 60 days
    ("2026-05-02T09:00:00+08:00", [], ("terminated", "2026-03-31T00:00:00+08:00",
                                       "deletable", "2026-04-30T00:00:00+08:00")),
])
def test_arrears_paid_late_on_the_instant_basis_of_the_termination(ledger, paid, fee, status):
    r = ledger(case("shengjing-crm", "2026-06-01T00:00:00+08:00", term=YEAR,
                    invoices=[{"id": "i", "amount": "6000.00", "due_at": "2026-03-01T00:00:00+08:00",
                               "paid_at": paid}]))
    assert [c["amount"] for c in r["charges"] if c["rule"] == "reconnection_fee"] == fee
    s = r["status"]
    assert (s["service"], s["service_since"], s["data"], s["data_since"]) == status


@pytest.mark.parametrize("due, paid, days", [
    ("2026-01-01T00:00:00+08:00", "2026-01-01T23:59:00+08:00", 0),      # paid on the due date
    ("2026-02-28T18:00:00+08:00", "2026-03-02T09:00:00+08:00", 2),      # dates, not 24 h periods
    ("2026-01-01T23:30:00+08:00", "2026-01-02T00:30:00+08:00", 1),      # across local midnight
    ("2026-01-01T15:30:00+00:00", "2026-01-01T16:30:00+00:00", 1),      # same UTC date, two Shanghai dates
])
def test_days_overdue_are_local_dates(ledger, due, paid, days):
    r = ledger(case("xiamen-mail", "2026-04-01T00:00:00+08:00", term=YEAR,
                    invoices=[{"id": "i", "amount": "100.00", "due_at": due, "paid_at": paid}]))
    assert [c["quantity"] for c in r["charges"]] == ([days] if days else [])
    if days:
        assert r["charges"][0]["amount"] == f"{days}.00"


def test_overage_exactly_at_the_allowance_and_one_mb_over(ledger):
    at = lambda mb: ledger(case("shengjing-crm", "2026-07-01T00:00:00+08:00", users=4, term=YEAR,
                                storage=[{"at": "2026-03-10T10:00:00+08:00", "used_mb": mb}]))["charges"]
    assert at("200") == []
    assert [(c["quantity"], c["amount"]) for c in at("201")] == [(1, "300.00")]


def test_shrinking_usage_gives_no_refund_and_no_new_charge(ledger):
    r = ledger(case("shengjing-crm", "2026-12-01T00:00:00+08:00", users=4, term=YEAR, storage=[
        {"at": "2026-03-10T10:00:00+08:00", "used_mb": "350"},
        {"at": "2026-04-10T10:00:00+08:00", "used_mb": "150"},
        {"at": "2026-05-10T10:00:00+08:00", "used_mb": "390"}]))
    assert [(c["quantity"], c["amount"]) for c in r["charges"]] == [(2, "600.00")]


def test_term_ending_mid_month_counts_a_started_month(ledger):
    term = {"start": "2026-01-01T00:00:00+08:00", "end": "2026-04-10T10:00:00+08:00"}
    r = ledger(case("shengjing-crm", "2026-04-01T00:00:00+08:00", users=1, term=term,
                    storage=[{"at": "2026-03-10T10:00:00+08:00", "used_mb": "51"}]))
    assert (r["charges"][0]["months"], r["charges"][0]["amount"]) == (1, "30.00")  # 03-10 → 04-10 is one
    term["end"] = "2026-04-10T10:00:01+08:00"
    r = ledger(case("shengjing-crm", "2026-04-01T00:00:00+08:00", users=1, term=term,
                    storage=[{"at": "2026-03-10T10:00:00+08:00", "used_mb": "51"}]))
    assert r["charges"][0]["months"] == 2


def test_notices_deemed_delivered_by_channel(ledger):
    r = ledger(case("shengjing-crm", "2026-04-01T00:00:00+08:00", term=YEAR, notices=[
        {"id": "e", "kind": "price change", "sent_at": "2026-03-01T10:00:00+08:00", "channel": "email"},
        {"id": "m", "kind": "price change", "sent_at": "2026-03-01T10:00:00+08:00", "channel": "mail"}]))
    assert [(n["id"], n["deemed_delivered_at"], n["clause"]) for n in r["notices"]] == [
        ("e", "2026-03-01T22:00:00+08:00", "19"), ("m", "2026-03-03T10:00:00+08:00", "19")]


def test_at_exactly_on_a_deadline_has_passed(ledger):
    r = ledger(case("shengjing-crm", "2026-12-17T00:00:00+08:00", term=YEAR))
    assert deadline(r, "renewal_due") == {"name": "renewal_due", "due_at": "2026-12-17T00:00:00+08:00",
                                          "clause": "9", "basis": "contract", "passed": True}


def test_aliyun_lapse_suspends_then_data_deletable(ledger):
    pay = [{"paid_at": "2026-01-05T10:00:00+08:00", "amount": "1800.00", "months": "2026-01/2026-12"}]
    before = ledger(case("aliyun-mail", "2026-12-20T00:00:00+08:00", term=YEAR, payments=pay))
    assert deadline(before, "renewal_reminder")["due_at"] == "2026-12-25T00:00:00+08:00"
    assert before["status"]["service"] == "active"
    lapsed = ledger(case("aliyun-mail", "2027-01-10T00:00:00+08:00", term=YEAR, payments=pay))
    assert (lapsed["status"]["service"], lapsed["status"]["service_since"]) == ("suspended", "2027-01-01T00:00:00+08:00")
    assert deadline(lapsed, "data_deletion")["due_at"] == "2027-01-31T00:00:00+08:00"
    gone = ledger(case("aliyun-mail", "2027-01-31T00:00:00+08:00", term=YEAR, payments=pay))
    assert (gone["status"]["data"], gone["status"]["data_since"]) == ("deletable", "2027-01-31T00:00:00+08:00")
    renewed = pay + [{"paid_at": "2027-01-20T10:00:00+08:00", "amount": "1800.00", "months": "2027-01/2027-12"}]
    back = ledger(case("aliyun-mail", "2027-02-10T00:00:00+08:00", term=YEAR, payments=renewed))
    assert back["status"] == {"service": "active", "service_since": None, "data": "kept", "data_since": None}
    on_time = pay + [{"paid_at": "2026-12-28T10:00:00+08:00", "amount": "1800.00", "months": "2027-01/2027-12"}]
    assert "data_deletion" not in {d["name"] for d in ledger(case("aliyun-mail", "2027-02-10T00:00:00+08:00",
                                                                 term=YEAR, payments=on_time))["deadlines"]}


def test_ningbo_stop_and_pickup_deadlines(ledger):
    r = ledger(case("ningbo-colo", "2026-10-02T00:00:00+08:00",
                    invoices=[{"id": "i", "amount": "800.00", "due_at": "2026-10-01T00:00:00+08:00"}],
                    terminated={"at": "2026-11-01T00:00:00+08:00", "reason": "customer"}))
    assert [(d["name"], d["due_at"], d["passed"]) for d in r["deadlines"]] == [
        ("service_stop_allowed", "2026-10-04T00:00:00+08:00", False),
        ("pickup_deadline", "2026-11-08T00:00:00+08:00", False)]  # listed though the termination is ahead
    assert r["status"]["service"] == "active" and r["charges"] == []


def test_shengjing_policy_termination_keeps_export_deadline(ledger):
    r = ledger(case("shengjing-crm", "2026-06-01T00:00:00+08:00", term=YEAR,
                    terminated={"at": "2026-05-01T00:00:00+08:00", "reason": "policy"}))
    assert deadline(r, "data_export_until")["due_at"] == "2026-05-31T00:00:00+08:00"
    assert deadline(r, "data_deleted")["due_at"] == "2026-08-09T00:00:00+08:00"
    assert r["status"]["service"] == "terminated"


def test_inolink_has_no_ledger_terms(ledger):
    r = ledger(case("inolink-sms", "2026-06-01T00:00:00+08:00",
                    invoices=[{"id": "i", "amount": "1.00", "due_at": "2026-01-01T00:00:00+08:00"}]))
    assert (r["charges"], r["deadlines"], r["charges_total"]) == ([], [], "0.00")


BAD = [
    ({"at": "2026-04-01T00:00:00"}, "/at", "datetime has no UTC offset"),
    ({"invoices": [{"id": "i", "amount": "-1.00", "due_at": "2026-01-01T00:00:00+08:00"}]},
     "/invoices/0/amount", "amount must not be negative"),
    ({"storage": [{"at": "2026-03-10T10:00:00+08:00", "used_mb": "-5"}]}, "/storage/0/used_mb",
     "used_mb must not be negative"),
    ({"storage": [{"at": "2026-03-10T10:00:00+08:00", "used_mb": "5"}, {"at": "2026-03-09T10:00:00+08:00", "used_mb": "6"}]},
     "/storage/1/at", "storage samples must be in time order"),
    ({"notices": [{"id": "n", "kind": "x", "sent_at": "2026-03-01T10:00:00+08:00", "channel": "fax"}]},
     "/notices/0/channel", "expected one of 'email' or 'mail'"),
    ({"contract": {"id": "c", "template": "shengjing-crm", "term": YEAR},
      "storage": [{"at": "2026-03-10T10:00:00+08:00", "used_mb": "5"}]},
     "/contract/users", "required by the overage rule (8)"),
    ({"contract": {"id": "c", "template": "aliyun-mail"}}, "/contract/term", "required by the renewal_reminder rule (2.2)"),
]


@pytest.mark.parametrize("change, pointer, message", BAD, ids=[b[1] for b in BAD])
def test_bad_input_names_the_field(ledger, change, pointer, message):
    c = case("shengjing-crm", "2026-04-01T00:00:00+08:00", term=YEAR, users=4)
    c.update(change)
    with pytest.raises(CaseError) as e:
        ledger(c)
    assert str(e.value) == f"{pointer}: {message}"


def test_cli_and_api_share_the_ledger_report(tmp_path, client):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(EXAMPLE6))
    cli = subprocess.run([sys.executable, "-m", "app.cli", "ledger", str(path)], capture_output=True,
                         cwd=ROOT, timeout=60, check=True)
    api = client.post("/v1/ledger", content=path.read_bytes())
    assert api.status_code == 200 and json.loads(cli.stdout) == api.json()
    bad = dict(EXAMPLE6, at="2026-04-01T00:00:00")
    res = client.post("/v1/ledger", content=json.dumps(bad))
    assert res.status_code == 422 and res.json()["detail"] == "/at: datetime has no UTC offset"
    res = subprocess.run([sys.executable, "-m", "app.cli", "ledger", "-"], input=json.dumps(bad).encode(),
                         capture_output=True, cwd=ROOT, timeout=60)
    assert (res.returncode, res.stdout, res.stderr.decode().strip()) == \
        (2, b"", "slawatch: /at: datetime has no UTC offset")
