"""The ledger rules, one function each, in one explicit registry ``RULES``.
A template's ``ledger`` list names them; every output row cites the rule's clause."""
from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

from app.contracts.errors import CaseError
from app.contracts.templates import LedgerRule
from app.contracts.types import parse_month
from app.ledger.book import Book, days_overdue, unpaid

HUNDRED = 100
BREACH_REASONS = frozenset({"customer", "arrears"})  # shengjing-crm 11: no export after the customer's breach

RULES: dict = {}


def rule(name: str, order: int = 0):
    """Register a rule; ``order`` > 0 runs after the rules whose results it reads."""
    def register(fn):
        fn.order = order
        RULES[name] = fn
        return fn
    return register


@rule("late_fee")
def late_fee(book: Book, r: LedgerRule) -> None:
    # xiamen-mail 费用 4: 每天按应付金额的1%另付滞纳金 — simple, per invoice
    for inv in book.case.invoices:
        days = days_overdue(inv, book.at, book.tz)
        if days:
            book.charge(r, "late_fee", Fraction(inv.amount) * Fraction(r.percent) * days / HUNDRED, days, inv.id)


@rule("interest")
def interest(book: Book, r: LedgerRule) -> None:
    # shengjing-crm 10: 按每月1.5%的利率计息; a month is per_days days (basis: policy)
    for inv in book.case.invoices:
        days = days_overdue(inv, book.at, book.tz)
        if days:
            book.charge(r, "interest", Fraction(inv.amount) * Fraction(r.percent) * days / (HUNDRED * r.per_days),
                        days, inv.id)


@rule("termination_notice")
def termination_notice(book: Book, r: LedgerRule) -> None:
    # xiamen-mail 违约 1: 应提前一个月通知乙方 — effective no earlier than sent_at + 1 calendar month
    term = book.contract.term
    for n in book.case.notices:
        if n.kind == "termination_request" and (term is None or term.start <= n.sent_at < term.end):
            book.deadline(r, "termination_effective_earliest", book.months(n.sent_at, r.months), notice_id=n.id)


@rule("unconditional_refund")
def unconditional_refund(book: Book, r: LedgerRule) -> None:
    # xiamen-mail 费用 5: 三十天内绝对无条件退款（仅限G/J系列）
    if book.contract.series in r.series:
        book.deadline(r, "unconditional_refund_until", book.days(book.term(r).start, r.days))


@rule("renewal_reminder")
def renewal_reminder(book: Book, r: LedgerRule) -> None:
    book.deadline(r, "renewal_reminder", book.days(book.term(r).end, -r.days))


@rule("renewal_due")
def renewal_due(book: Book, r: LedgerRule) -> None:
    book.deadline(r, "renewal_due", book.days(book.term(r).end, -r.days))


def _renewals(book: Book, r: LedgerRule):
    """Payments (§9) covering the month that begins at ``term.end``, paid by ``at``."""
    end = book.term(r).end.astimezone(book.tz)
    month = (end.year, end.month)
    out = []
    for p in book.contract.payments:
        first, last = (parse_month(x) for x in p.months.split("/"))
        if first <= month <= last and p.paid_at <= book.at:
            out.append(p.paid_at)
    return sorted(out)


@rule("lapse")
def lapse(book: Book, r: LedgerRule) -> None:
    """The term ends unpaid: service stopped since ``term.end`` (aliyun-mail 2.2,
    shengjing-crm 10 自动中止); a renewal paid later reactivates it. Where the
    template keeps data ``delete_days``, they may be deleted after that."""
    end = book.term(r).end
    paid = _renewals(book, r)
    if paid and paid[0] <= end:
        return
    if book.at >= end and not paid:
        book.suspended.append(end)
    if r.delete_days is not None:
        deletion = book.days(end, r.delete_days)
        book.deadline(r, "data_deletion", deletion)
        if book.at >= deletion and not any(t < deletion for t in paid):
            book.data["deletable"].append(deletion)


@rule("service_stop")
def service_stop(book: Book, r: LedgerRule) -> None:
    # ningbo-colo 六.6: 逾期3天 — the provider may send a stop-service notice; status stays active
    for inv in book.case.invoices:
        if unpaid(inv, book.at):
            book.deadline(r, "service_stop_allowed", book.days(inv.due_at, r.days), invoice_id=inv.id)


@rule("pickup")
def pickup(book: Book, r: LedgerRule) -> None:
    # ningbo-colo 八.4: a server left more than 7 days after termination is abandoned
    t = book.contract.terminated
    if t is not None:
        book.deadline(r, "pickup_deadline", book.days(t.at, r.days))


@rule("arrears")
def arrears(book: Book, r: LedgerRule) -> None:
    """shengjing-crm 10: 30 days overdue ends the contract (reconnection then costs
    ¥200); 60 days overdue the data may be deleted. Both are instants (due + N
    days), and a payment is placed against them on the same instant basis."""
    for inv in book.case.invoices:
        ends, deletable = book.days(inv.due_at, r.days), book.days(inv.due_at, r.delete_days)
        paid = None if unpaid(inv, book.at) else inv.paid_at
        if paid is None or paid >= deletable:
            book.deadline(r, "reconnection_fee_applies", ends, invoice_id=inv.id)
            book.deadline(r, "data_may_be_deleted", deletable, invoice_id=inv.id)
            if book.at >= ends:  # a payment after the data became deletable reactivates nothing
                book.terminated.append((ends, "arrears"))
            if book.at >= deletable:
                book.data["deletable"].append(deletable)
        elif paid >= ends:
            # paid after the contract ended, before the data could go: paying reactivates, at the fee
            book.charge(r, "reconnection_fee", r.fee, 1, inv.id, basis="policy")


@rule("data_after_termination", order=1)
def data_after_termination(book: Book, r: LedgerRule) -> None:
    """shengjing-crm 11: data deleted 100 days after any termination; exported on
    request within 30 days unless terminated for the customer's breach."""
    if not book.terminated:
        return
    since, reason = min(book.terminated)
    deleted = book.days(since, r.days)
    book.deadline(r, "data_deleted", deleted)
    if book.at >= deleted:
        book.data["deleted"].append(deleted)
    if reason not in BREACH_REASONS:
        book.deadline(r, "data_export_until", book.days(since, r.export_days))


@rule("overage")
def overage(book: Book, r: LedgerRule) -> None:
    """shengjing-crm 8: 50 MB per user; each new started 100 MB unit costs ¥30 per
    started month from the sample to the term's end, charged once. Charged units
    never decrease when usage shrinks."""
    if not book.case.storage:
        return
    users = book.contract.users
    if users is None:
        raise CaseError("/contract/users", f"required by the overage rule ({r.clause})")
    term = book.term(r)
    allowance = Decimal(r.mb_per_user * users)
    charged = 0
    for sample in book.case.storage:
        if sample.at > book.at or sample.at >= term.end:
            break
        need = int(((sample.used_mb - allowance) / r.unit_mb).to_integral_value(ROUND_CEILING)) \
            if sample.used_mb > allowance else 0
        if need > charged:
            months = started_months(book, sample.at, term.end)
            book.charge(r, "overage", (need - charged) * r.fee * months, need - charged,
                        months=months, sampled_at=book.local(sample.at), used_mb=str(sample.used_mb))
            charged = need


def started_months(book: Book, start, end) -> int:
    """Months from ``start`` to ``end``, a started month counting whole (不满一个月的按一个月计算)."""
    n = 0
    while book.months(start, n) < end:
        n += 1
    return n


@rule("deemed_delivery")
def deemed_delivery(book: Book, r: LedgerRule) -> None:
    # shengjing-crm 19: deemed delivered 12 h after an e-mail, 48 h after a letter
    book.notice_rule = r


def notices(book: Book) -> list[dict]:
    """Each notice, with ``deemed_delivered_at`` where the template has a delivery rule."""
    r, out = book.notice_rule, []
    for n in book.case.notices:
        deemed = None
        if r is not None:
            hours = r.email_hours if n.channel == "email" else r.mail_hours
            deemed = book.local(n.sent_at + timedelta(hours=hours))
        out.append({"id": n.id, "kind": n.kind, "channel": n.channel, "sent_at": book.local(n.sent_at),
                    "deemed_delivered_at": deemed, "clause": r.clause if r else None,
                    "basis": r.basis if r else None})
    return out
