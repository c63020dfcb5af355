"""Every contract's SLA state now — its case, report, live windows, ledger book,
or why it cannot be evaluated — computed in one round with one error policy and
shared: the SLA metrics, the ticket loop and ``/v1/windows`` read the same
states instead of each evaluating every contract on its own.

One error policy: any exception of one contract's evaluation (a year with no
calendar, a rule input missing, an arithmetic overflow) becomes that contract's
``error`` and is recorded once in ``EvaluationErrors``; the others go on. A
ledger that cannot be computed (a term its rules need is missing) gives no book,
and is not an evaluation error: the SLA figures stand without it.

``LiveState`` keeps the last round for ``max_age`` seconds; a write marks its
contract stale (``invalidate``) and the next reader recomputes that one only."""
from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.calendars.zones import LocalTime
from app.contracts.errors import CaseError
from app.contracts.models import Case, Contract
from app.contracts.rules import Rules
from app.contracts.service import cached_contract, remember_contract
from app.contracts.templates import Template
from app.evaluation.engine import live_rows
from app.evaluation.engine import report as month_report
from app.evaluation.health import EvaluationErrors, describe, template_of
from app.evaluation.report import Report, WindowRow
from app.incidents.cases import case_rows, cases_from
from app.ledger.engine import ledger
from app.ledger.models import LedgerCase
from app.ledger.store import all_billing
from app.storage import changes
from app.storage.db import rows_of
from app.storage.tables import ContractRow

log = logging.getLogger("slawatch.live")
# basis: policy — what grows with time between instants that change a state (a running
# window's elapsed share and its warning, an open incident's outage and credit, a contract
# that cannot be evaluated yet) is evaluated again at least this often; a deadline, the
# end of the month and a ledger deadline are met at their instant
REFRESH = timedelta(seconds=60)
BREACH_STEP = timedelta(microseconds=1)  # the resolution of every stored instant
CHUNK = 500  # contracts per statement of an incremental round (bound parameters stay few)


@dataclass(frozen=True, slots=True)
class ContractRef:
    """A stored contract's identity, owner and parsed terms — not its ORM row: at
    10,000 contracts the rows kept every body's JSON a second time."""
    id: str
    customer_id: str | None
    template: str
    contract: Contract


async def contract_refs(db, ids: list[str] | None = None) -> list[ContractRef]:
    """Every contract (None) or those of ``ids``; a body is read and parsed only for a
    version this process has not parsed yet."""
    c = ContractRow.__table__.c
    q = select(c.id, c.customer_id, c.template, c.created_at, c.version).order_by(c.id)
    rows = await rows_of(db, q if ids is None else q.where(c.id.in_(ids)))
    parsed = {r.id: cached_contract(r.id, (r.created_at, r.version)) for r in rows}
    missing = [r for r in rows if parsed[r.id] is None]
    for i in range(0, len(missing), CHUNK):
        chunk = {r.id: r for r in missing[i:i + CHUNK]}
        bodies = (await db.execute(select(c.id, c.body).where(c.id.in_(list(chunk))))).all()

        def parse(bodies=bodies, chunk=chunk) -> dict:  # validating a body is the costly part: off the loop
            return {cid: remember_contract(cid, (chunk[cid].created_at, chunk[cid].version), body)
                    for cid, body in bodies}
        parsed.update(await asyncio.to_thread(parse))
    return [ContractRef(r.id, r.customer_id, r.template, parsed[r.id]) for r in rows if parsed.get(r.id) is not None]


@dataclass(frozen=True)
class ContractState:
    row: ContractRef
    case: Case
    template: Template | None = None
    report: Report | None = None  # the month's report
    windows: tuple[WindowRow, ...] = ()  # every window of every incident, live
    book: dict | None = None  # the ledger report, when its rules have their inputs
    error: tuple[str, str] | None = None  # (reason, message) while it cannot be evaluated
    warn: float | None = None  # the share of a window's limit that files a warning ticket (None: no warnings)
    shares: tuple[float, ...] = ()  # every share of a limit that files something: the warning, escalation steps

    @property
    def contract_id(self) -> str:
        return self.row.id

    @cached_property
    def due(self) -> datetime | None:
        """The next instant at which the passing of time alone changes this state
        (None: only a write can): a running window's deadline (its breach), the
        month's end, a ledger deadline passing — and, while a window runs, an
        incident is open or the contract cannot be evaluated, ``REFRESH`` after it
        was evaluated."""
        at = self.case.at
        if self.error is not None or self.report is None:
            return at + REFRESH
        running = [w for w in self.windows if w.status == "running"]
        instants = [_next_month(at, ZoneInfo(self.case.contract.timezone))]
        if running or any(i.resolved_at is None for i in self.case.incidents):
            # spread by contract: 10,000 contracts evaluated in one round are not all due again together
            instants.append(at + REFRESH * (1 + zlib.crc32(self.row.id.encode()) / 2**33))
            # planned maintenance beginning or ending stops or restarts an open incident's clocks
            instants += [t for m in self.case.maintenance for t in (m.start, m.end) if t > at]
        # the first instant a running window is breached: the one after its deadline (at it, it still runs)
        instants += [w.deadline + BREACH_STEP for w in running if w.deadline is not None]
        for share in self.shares:  # a warning or a page: no sooner than its clock could get there (1 s a second)
            for w in running:
                short = timedelta(seconds=share * w.limit_seconds) - w.elapsed
                if short > timedelta(0):
                    instants.append(at + max(short, timedelta(seconds=max(1.0, 0.01 * w.limit_seconds))))
        instants += [datetime.fromisoformat(d["due_at"]) for d in (self.book or {}).get("deadlines", ())
                     if not d["passed"]]
        return min(instants)

    def windows_json(self) -> list[dict]:
        """The live windows as the API and tickets show them."""
        local = LocalTime(ZoneInfo(self.case.contract.timezone))
        return [w.to_json(local) for w in self.windows]


def warn_ratio(policy, default_percent: int | None) -> float | None:
    """The share of a window's limit at which a warning ticket is filed: the contract's
    ticket policy, else the service's default; 0 or None: no warnings."""
    pct = policy.warn_percent if policy is not None and policy.warn_percent is not None else default_percent
    return pct / 100 if pct else None


def escalation_of(policy, template: Template | None):
    """A contract's own escalation, else its template's, else none."""
    if policy is not None and policy.escalation is not None:
        return policy.escalation
    return template.escalation if template is not None else None


def contract_state(row: ContractRef, case: Case, billing: tuple[list, list, list] | None, rules: Rules,
                   errors: EvaluationErrors, warn_percent: int | None = None) -> ContractState:
    """One contract's state at ``case.at`` (pure but for the error record); no
    ledger book without ``billing``. ``warn_percent``: the service's default share
    of a window's limit that files a warning (the contract's ticket policy first)."""
    policy = case.contract.tickets
    warn = warn_ratio(policy, warn_percent)
    try:
        template = template_of(rules, case.contract)
        report = month_report(case, template, rules.schedule)
        windows = tuple(live_rows(case, template, rules.schedule))
    except Exception as exc:  # noqa: BLE001 - one contract never stops the others; it shows why
        return ContractState(row, case, error=errors.failed(row.id, exc))
    errors.ok(row.id)
    esc = escalation_of(policy, template)
    shares = tuple(sorted({x for x in (warn, *(s.share for s in (esc.steps if esc else ()))) if x}))
    return _with_book(ContractState(row, case, template, report, windows, warn=warn, shares=shares), billing)


def report_or_error(case: Case, rules: Rules) -> tuple[Report | None, tuple[str, str] | None]:
    """A month's report (any period a caller asks for), or why it cannot be made: the
    same error policy, without touching the live record (that is about now)."""
    try:
        report = month_report(case, template_of(rules, case.contract), rules.schedule)
    except Exception as exc:  # noqa: BLE001 - one contract never stops the others; it shows why
        return None, describe(exc)
    return report, None


def _with_book(st: ContractState, billing: tuple[list, list, list] | None) -> ContractState:
    if billing is None:
        return st
    invoices, storage, notices = billing
    try:
        book = ledger(LedgerCase(contract=st.case.contract, invoices=invoices, storage=storage, notices=notices,
                                 at=st.case.at), st.template)
    except Exception as exc:  # noqa: BLE001 - no book (e.g. a term its rules need is missing); the SLA figures stand
        if not isinstance(exc, CaseError):
            log.warning("contract %s: ledger not computed: %s: %s", st.contract_id, type(exc).__name__, exc)
        return st
    return replace(st, book=book)


async def contract_states(db, rules: Rules, at: datetime, errors: EvaluationErrors,
                          warn_percent: int | None = None) -> dict[str, ContractState]:
    """Every contract's state at ``at``: three queries for all of them, not per
    contract; the evaluation itself runs in a worker thread, so the probes' event
    loop is never held for a whole round (at 10,000 contracts, seconds)."""
    rows = await contract_refs(await db.connection())
    incidents, planned = await case_rows(await db.connection(), rows)
    billing = await all_billing(db)
    errors.keep_only({r.id for r in rows})

    return await asyncio.to_thread(evaluate, [(r, incidents.get(r.id, []), billing[r.id]) for r in rows], at, rules,
                                   errors, warn_percent, planned)


GIL_EVERY = 4  # contracts evaluated between two yields of the GIL (a few ms at most)


def evaluate(loaded: list[tuple], at: datetime, rules: Rules, errors: EvaluationErrors,
             warn_percent: int | None, planned: list) -> dict[str, ContractState]:
    """In a worker thread: each contract's state, with its next due instant. The GIL is
    given up every few contracts: the probes' loop takes it back at every I/O, and a
    thread that held it for its whole 5 ms switch interval each time delayed probe
    starts by a fifth of a second at 10,000 contracts."""
    out = {}
    for i, (row, incidents, bills) in enumerate(loaded):
        if i % GIL_EVERY == 0:
            time.sleep(0)
        case = cases_from([row], ({row.id: incidents}, planned), at)[row.id]
        st = out[row.id] = contract_state(row, case, bills, rules, errors, warn_percent)
        _ = st.due  # computed here, not on the loop when the next round asks
    return out


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    states: dict[str, ContractState]


def _next_month(at: datetime, tz: ZoneInfo) -> datetime:
    local = at.astimezone(tz)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=tz)


class LiveState:
    """Rounds are incremental: only contracts something happened to (any process's
    writes: ``app.storage.changes``) or whose state moves with time are evaluated
    again; all of them every ``full_every`` seconds all the same."""

    def __init__(self, sessions, rules: Rules, errors: EvaluationErrors, max_age: float = 5.0,
                 full_every: float = 600.0, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 warn_percent: int | None = None):
        self.sessions, self.rules, self.errors, self.max_age = sessions, rules, errors, max_age
        self.warn_percent = warn_percent  # the warning tickets' default share (SLAWATCH_TICKET_WARN_PERCENT)
        self.clock = clock
        self.full_every = full_every
        self.snapshot: Snapshot | None = None
        self.built = self.full_at = 0.0
        self.marks = changes.Marks()
        self.stale: set[str] = set()
        self.lock = asyncio.Lock()  # readers at the same moment share one computation
        self.rounds = 0  # full computations so far (the benchmark prints it)
        self.evaluated = 0  # contracts evaluated so far, full or incremental

    def invalidate(self, contract_id: str | None = None) -> None:
        """A write changed this contract (None: everything, e.g. the rules)."""
        if contract_id is None:
            self.snapshot = None
        else:
            self.stale.add(contract_id)

    async def current(self, max_age: float | None = None) -> Snapshot:
        limit = self.max_age if max_age is None else max_age
        async with self.lock:
            clock = time.monotonic()
            if self.snapshot is None or clock - self.full_at > self.full_every:
                await self._full()
            elif clock - self.built > limit:
                await self._incremental()
            elif self.stale:
                await self._refresh(set())
            return self.snapshot

    async def _full(self) -> None:
        at = self.clock()
        async with self.sessions() as db:
            self.marks = await changes.marks(await db.connection())
            states = await contract_states(db, self.rules, at, self.errors, self.warn_percent)
        self.snapshot, self.stale = Snapshot(at, states), set()
        self.built = self.full_at = time.monotonic()
        self.rounds += 1
        self.evaluated += len(states)

    async def _incremental(self) -> None:
        at = self.clock()
        async with self.sessions() as db:
            changed, self.marks = await changes.changed_since(await db.connection(), self.marks)
        moving = {cid for cid, st in self.snapshot.states.items() if st.due is not None and st.due <= at}
        if len(changed | moving) * 4 > len(self.snapshot.states):  # most of them: one round is cheaper
            await self._full()
            return
        await self._refresh(changed | moving)
        self.built = time.monotonic()

    async def _refresh(self, more: set[str]) -> None:
        todo, self.stale = sorted(self.stale | more), set()
        states = dict(self.snapshot.states)
        at = self.clock()  # the ones looked at as of now; the rest as of when they last changed
        loaded, planned = [], []
        async with self.sessions() as db:
            for i in range(0, len(todo), CHUNK):  # a handful of statements per chunk, not three per contract
                ids = todo[i:i + CHUNK]
                rows = await contract_refs(await db.connection(), ids)
                incidents, planned = await case_rows(await db.connection(), rows, every=False)
                billing = await all_billing(db, ids)
                loaded += [(row, incidents.get(row.id, []), billing[row.id]) for row in rows]
        for cid in set(todo) - {row.id for row, _, _ in loaded}:
            states.pop(cid, None)  # deleted

        if loaded:  # off the probes' loop, as a full round is
            states.update(await asyncio.to_thread(evaluate, loaded, at, self.rules, self.errors, self.warn_percent,
                                                  planned))
        self.evaluated += len(todo)
        self.snapshot = Snapshot(at, states)
