"""Money exact to the cent at every tie (SEMANTICS §8–§9): every path that
divides money is compared, through the whole engine, with exact ``Fraction``
arithmetic rounded half-up once. Hypothesis is steered onto exact half cents."""
import json
from datetime import datetime, timedelta
from fractions import Fraction
from math import floor
from zoneinfo import ZoneInfo

from conftest import RULES_DIR, incident, make_case
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.contracts.rules import load_rules
from app.evaluation.service import evaluate_case, validate_case
from app.ledger.service import ledger_case, validate_ledger_case

RULES = load_rules(RULES_DIR)


def evaluate(case: dict) -> dict:
    return evaluate_case(validate_case(json.loads(json.dumps(case))), RULES)


def ledger(case: dict) -> dict:
    return ledger_case(validate_ledger_case(json.loads(json.dumps(case))), RULES)


SH = ZoneInfo("Asia/Shanghai")
NOV = datetime(2026, 11, 1, tzinfo=SH)
NOV_SECONDS = 30 * 86400
CRM_PAID = [{"paid_at": "2026-01-01T10:00:00+08:00", "amount": "99999999.00", "months": "2026-01/2026-12"}]


def half_up(value: Fraction) -> str:
    """The reference: exact value → cents, half away from zero, as the report prints it."""
    c = floor(value * 100 + Fraction(1, 2))
    return f"{c // 100}.{c % 100:02d}"


cents = st.integers(1, 10 ** 9)  # up to ¥10,000,000.00
fee_text = cents.map(lambda c: f"{c // 100}.{c % 100:02d}")


def test_the_issues_ties():
    # 300.00 × 90 min / 30 days = 0.625 exactly → 0.63
    assert half_up(Fraction(30000, 100) * 5400 / NOV_SECONDS) == "0.63"
    # 15,139.20/9 + 4,350.45/9 + 10,024.55/6 = 3,836.275 exactly → 3,836.28
    assert half_up(Fraction("15139.20") / 9 + Fraction("4350.45") / 9 + Fraction("10024.55") / 6) == "3836.28"


@settings(max_examples=200, deadline=None)
@given(fee=fee_text, minutes=st.integers(1, 30 * 24 * 60 - 1))
@example(fee="300.00", minutes=90)  # the issue's tie
def test_pro_rata_downtime(fee, minutes):
    start = NOV + timedelta(days=9, hours=10)
    inc = incident("a", "service_unavailable", start.isoformat(),
                   min(start + timedelta(minutes=minutes), NOV + timedelta(days=30)).isoformat())
    r = evaluate(make_case("shengjing-crm", [inc], "2026-11", "2026-12-01T00:00:00+08:00", month_fee=fee,
                           payments=CRM_PAID, credit_policy={"rule": "pro_rata_downtime"}))
    outage = r["outage"]["seconds"]
    assert r["credit"]["lines"][0]["amount"] == half_up(Fraction(fee) * outage / NOV_SECONDS)


@settings(max_examples=150, deadline=None)
@given(fee=fee_text, days=st.integers(1, 31))
def test_per_affected_day(fee, days):
    incs = [incident(f"d{d}", "mail_send_receive", f"2026-10-{d:02d}T10:00:00+08:00",
                     f"2026-10-{d:02d}T10:05:00+08:00") for d in range(1, days + 1)]
    r = evaluate(make_case("xiamen-mail", incs, "2026-10", "2026-11-01T00:00:00+08:00", month_fee=fee,
                           payments=[{"paid_at": "2025-12-20T10:00:00+08:00", "amount": "1.00",
                                      "months": "2026-01/2026-12"}]))
    assert r["credit"]["lines"][0]["amount"] == half_up(Fraction(fee) * days / 31)


payment = st.tuples(cents, st.integers(1, 12))


@settings(max_examples=200, deadline=None)
@given(payments=st.lists(payment, min_size=1, max_size=5))
@example(payments=[(1513920, 9), (435045, 9), (1002455, 6)])  # the issue's 3,836.275
def test_month_fee_cap_sums_exact_shares(payments):
    pays = [{"paid_at": "2026-01-01T10:00:00+08:00", "amount": f"{c // 100}.{c % 100:02d}",
             "months": f"2026-01/2026-{n:02d}"} for c, n in payments]
    inc = incident("a", "mail_send_receive", "2026-01-05T10:00:00+08:00", "2026-01-05T11:00:00+08:00")
    r = evaluate(make_case("xiamen-mail", [inc], "2026-01", "2026-02-01T00:00:00+08:00", month_fee="300.00",
                           payments=pays))
    assert r["credit"]["cap"] == half_up(sum(Fraction(c, 100) / n for c, n in payments))


@settings(max_examples=150, deadline=None)
@given(amount=cents, billing=st.sampled_from(["annual", "monthly"]), seconds=st.integers(0, 365 * 86400))
def test_termination_refund(amount, billing, seconds):
    p0, p1 = datetime(2026, 1, 1, tzinfo=SH), datetime(2027, 1, 1, tzinfo=SH)
    at = p0 + timedelta(seconds=seconds)
    text = f"{amount // 100}.{amount % 100:02d}"
    r = evaluate(make_case("ningbo-colo", [], at.strftime("%Y-%m"), "2027-01-01T00:00:00+08:00", billing=billing,
                           terminated={"at": at.isoformat(), "reason": "policy",
                                       "paid_period": {"start": p0.isoformat(), "end": p1.isoformat(),
                                                       "amount": text}}))
    lines = {x["rule"]: x["amount"] for x in r["credit"]["lines"]}
    k = 7 if billing == "annual" else 3
    assert lines == {"unused": half_up(Fraction(amount, 100) * (p1 - at).total_seconds() / (p1 - p0).total_seconds()),
                     "free_days": half_up(Fraction(amount, 100) * k / 365)}


@settings(max_examples=150, deadline=None)
@given(fee=fee_text, minutes=st.integers(0, 24 * 60), below=st.sampled_from(["99.9", "99.5", "99.0"]),
       percent=st.sampled_from(["10", "12.5", "33.3"]))
def test_availability_tiers(fee, minutes, below, percent):
    inc = [incident("a", "mail_send_receive", "2026-11-05T00:00:00+08:00",
                    (datetime(2026, 11, 5, tzinfo=SH) + timedelta(minutes=minutes)).isoformat())]
    r = evaluate(make_case("aliyun-mail", inc, "2026-11", "2026-12-01T00:00:00+08:00", month_fee=fee,
                           credit_policy={"rule": "availability_tiers",
                                          "tiers": [{"below": below, "percent": percent}]}))
    availability = (1 - Fraction(minutes * 60, NOV_SECONDS)) * 100
    hit = availability < Fraction(below)
    line = r["credit"]["lines"][0]
    assert line["amount"] == half_up(Fraction(fee) * Fraction(percent) / 100 if hit else Fraction(0))
    assert r["outage"]["availability_percent"] == line["availability"]


@settings(max_examples=150, deadline=None)
@given(amount=cents, days=st.integers(1, 29))
def test_interest_and_late_fee(amount, days):
    due = datetime(2026, 3, 1, tzinfo=SH)
    text = f"{amount // 100}.{amount % 100:02d}"
    inv = [{"id": "i1", "amount": text, "due_at": due.isoformat(),
            "paid_at": (due + timedelta(days=days, hours=1)).isoformat()}]
    at = "2026-06-01T00:00:00+08:00"
    TERM = {"start": "2026-01-01T00:00:00+08:00", "end": "2027-01-01T00:00:00+08:00"}
    crm = ledger({"contract": {"id": "c", "template": "shengjing-crm", "term": TERM}, "invoices": inv, "at": at})
    assert [c["amount"] for c in crm["charges"]] == [half_up(Fraction(amount, 100) * Fraction(15, 1000) * days / 30)]
    xm = ledger({"contract": {"id": "c", "template": "xiamen-mail", "term": TERM}, "invoices": inv, "at": at})
    assert [c["amount"] for c in xm["charges"]] == [half_up(Fraction(amount, 100) * days / 100)]
