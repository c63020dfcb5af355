"""``GET /metrics``: probe results, SLA clocks and money as Prometheus metrics.

Collectors read current state; nothing is counted by scattered code. Probe
metrics are fed by the worker's sink; the SLA picture (open incidents, running
windows, month-to-date outage, credit and cap, termination rights) is evaluated
in the background every ``refresh_seconds`` so a scrape never waits on the
database. Label values are bounded by configured targets and contracts; a
closed incident's window series disappear with it."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.utils import floatToGoString

from app.calendars.zones import PRC
from app.evaluation.report import seconds
from app.live import ContractState, LiveState
from app.pause import stopped_within

log = logging.getLogger("slawatch.metrics")
disable_created_metrics()  # *_created series double the size and say nothing a NOC needs
PROBE_LABELS = ("target", "contract", "protocol", "location")



def _label_value(v: str) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class ProbeMetrics:
    """Per-target probe series, kept in plain dicts and written straight to the
    exposition format: with thousands of targets prometheus_client's generic
    collect-and-format path costs ~20 µs a sample here (benchmarks/metrics.py)."""

    BUCKETS = (.01, .05, .1, .5, 1.0, 5.0, 10.0, 30.0)
    HEAD = ("# HELP slawatch_probe_success 1 when the last probe succeeded\n"
            "# TYPE slawatch_probe_success gauge\n")

    def __init__(self):
        # labels tuple → [label text, success, bucket counts, sum, count, {phase: seconds}]
        self.series: dict[tuple, list] = {}

    def observe(self, labels: tuple, result) -> None:
        s = self.series.get(labels)
        if s is None:
            text = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(zip(PROBE_LABELS, labels, strict=True)))
            s = self.series[labels] = [text, 0, [0] * len(self.BUCKETS), 0.0, 0, {}, None]
        if result.skipped:  # neither up nor down (an SMS outside its send window): no success sample
            s[6] = result.error.removeprefix("skipped:") if result.error else "skipped"
            return
        s[1], s[6] = (1.0 if result.ok else 0.0), None
        d = result.duration_seconds
        counts = s[2]
        for i, le in enumerate(self.BUCKETS):
            if d <= le:
                counts[i] += 1
        s[3] += d
        s[4] += 1
        s[5] = dict(result.phases)

    def forget(self, target_id: str) -> None:
        for labels in [k for k in self.series if k[0] == target_id]:
            del self.series[labels]

    def render(self) -> str:
        series = list(self.series.values())
        out = [self.HEAD]
        out += [f"slawatch_probe_success{{{s[0]}}} {s[1]}\n" for s in series if s[6] is None]
        out.append("# HELP slawatch_probe_skipped 1 while the target is not probed by design (e.g. outside its send "
                   "window), with the reason\n# TYPE slawatch_probe_skipped gauge\n")
        out += [f'slawatch_probe_skipped{{{s[0]},reason="{_label_value(s[6])}"}} 1\n' for s in series
                if s[6] is not None]
        out.append("# HELP slawatch_probe_duration_seconds Probe duration\n"
                   "# TYPE slawatch_probe_duration_seconds histogram\n")
        les = [repr(le) for le in self.BUCKETS]
        for lbl, _, counts, total, n, _, _ in series:
            out += [f'slawatch_probe_duration_seconds_bucket{{{lbl},le="{le}"}} {c}\n'
                    for le, c in zip(les, counts, strict=True)]
            out.append(f'slawatch_probe_duration_seconds_bucket{{{lbl},le="+Inf"}} {n}\n'
                       f"slawatch_probe_duration_seconds_sum{{{lbl}}} {total}\n"
                       f"slawatch_probe_duration_seconds_count{{{lbl}}} {n}\n")
        out.append("# HELP slawatch_probe_phase_duration_seconds Duration of each phase of the last probe\n"
                   "# TYPE slawatch_probe_phase_duration_seconds gauge\n")
        for s in series:
            out += [f'slawatch_probe_phase_duration_seconds{{{s[0]},phase="{_label_value(k)}"}} {v}\n'
                    for k, v in s[5].items()]
        return "".join(out)


def _families() -> dict[str, GaugeMetricFamily]:
    g = GaugeMetricFamily
    window = ["contract", "incident", "window"]
    return {
        "open": g("slawatch_open_incidents", "Open incidents", labels=["contract", "category"]),
        "deadline": g("slawatch_window_deadline_timestamp_seconds", "Deadline of each running window", labels=window),
        "left": g("slawatch_window_time_left_seconds", "Time left before each running window breaches",
                  labels=window),
        "used": g("slawatch_window_used_ratio", "Share of each running window's limit already used", labels=window),
        # a gauge, not a counter: a breach later excluded (force majeure, say) leaves it
        "breached": g("slawatch_window_breached", "Windows breached now (incidents reported this month)",
                      labels=["contract", "window"]),
        "outage": g("slawatch_outage_seconds", "Month-to-date provider outage", labels=["contract"]),
        "availability": g("slawatch_availability_ratio", "Month-to-date availability", labels=["contract"]),
        "credit": g("slawatch_credit_cny", "Month-to-date credit owed (capped), provisional part included",
                    labels=["contract"]),
        "provisional": g("slawatch_credit_provisional_cny",
                         "The part of the credit that rests on unclassified incidents (claims)", labels=["contract"]),
        "cap": g("slawatch_credit_cap_cny", "The month's credit cap", labels=["contract"]),
        "termination": g("slawatch_termination_right_granted", "1 when the customer may terminate",
                         labels=["contract"]),
        "term_provisional": g("slawatch_termination_right_provisional",
                              "1 when that right rests on an unclassified incident (a claim)", labels=["contract"]),
        "ledger_due": g("slawatch_ledger_deadline_timestamp_seconds", "Contract ledger deadlines not yet passed",
                        labels=["contract", "deadline"]),
        "failing": g("slawatch_contract_evaluation_errors", "1 while a contract cannot be evaluated, by reason",
                     labels=["contract", "reason"]),
        "known": g("slawatch_calendar_known_until_timestamp_seconds",
                   "End of the last day with a known PRC working-day schedule", labels=["calendar"]),
    }


def _add_state(f: dict, st: ContractState) -> None:
    """One contract's series (the live state says it all; nothing is evaluated here)."""
    cid = st.contract_id
    opened: dict[str, int] = {}
    for i in st.case.incidents:
        if i.resolved_at is None:
            opened[i.category] = opened.get(i.category, 0) + 1
    for cat, n in sorted(opened.items()):
        f["open"].add_metric([cid, cat], n)
    if st.error is not None:
        f["failing"].add_metric([cid, st.error[0]], 1)
        return
    _add_windows(f, st)
    report = st.report
    credit = report.credit
    f["outage"].add_metric([cid], seconds(report.outage.duration))
    f["availability"].add_metric([cid], float(report.outage.availability_percent / 100))
    f["credit"].add_metric([cid], float(credit.amount))
    f["provisional"].add_metric([cid], float(credit.owed_provisional))
    if credit.cap is not None:
        f["cap"].add_metric([cid], float(credit.cap))
    f["termination"].add_metric([cid], 1 if report.termination_right.granted else 0)
    f["term_provisional"].add_metric([cid], 1 if report.termination_right.provisional else 0)
    seen: set[str] = set()
    for d in (st.book or {}).get("deadlines", []):
        if not d["passed"] and d["name"] not in seen:  # the soonest of each name
            seen.add(d["name"])
            f["ledger_due"].add_metric([cid, d["name"]], datetime.fromisoformat(d["due_at"]).timestamp())


def _add_windows(f: dict, st: ContractState) -> None:
    cid = st.contract_id
    counts: dict[str, int] = {}
    for w in st.report.windows:
        if w.status == "breached":
            counts[w.window] = counts.get(w.window, 0) + 1
    for w in st.template.windows:
        f["breached"].add_metric([cid, w.name], counts.get(w.name, 0))
    for w in st.windows:
        if w.status == "running":
            labels = [cid, w.incident_id, w.window]
            due = w.deadline.timestamp()
            f["deadline"].add_metric(labels, due)  # time left: added at each refresh (it moves with time)
            if w.limit_seconds:
                f["used"].add_metric(labels, seconds(w.elapsed) / w.limit_seconds)


def _render(families: dict[str, GaugeMetricFamily]) -> dict[str, str]:
    """Each family's sample lines in exposition format, without its HELP and TYPE."""
    registry = CollectorRegistry()
    registry.register(_Fixed(list(families.values())))
    out: dict[str, list[str]] = {name: [] for name in families}
    names = {f.name: key for key, f in families.items()}
    current = None
    for line in generate_latest(registry).decode().splitlines(keepends=True):
        if line.startswith("# HELP "):
            current = names[line.split(" ", 3)[2]]
        elif not line.startswith("#"):
            out[current].append(line)
    return {k: "".join(v) for k, v in out.items()}


class _Fixed:
    def __init__(self, families):
        self.families = families

    def collect(self):
        yield from self.families


def _heads() -> dict[str, str]:
    """Each family's HELP and TYPE lines, as prometheus_client writes them."""
    families = _families()
    registry = CollectorRegistry()
    registry.register(_Fixed(list(families.values())))
    text = generate_latest(registry).decode()
    return {k: text[text.index(f"# HELP {f.name} "):].split("\n", 2)[0] + "\n" + f"# TYPE {f.name} gauge\n"
            for k, f in families.items()}


_HEADS = _heads()
LEFT = _families()["left"].name


class SlaSnapshot:
    """The SLA families, rebuilt in the background from the shared live state. Each
    contract's lines are rendered once per state (the live state keeps a state object
    until it is evaluated again) and only the time left of running windows is written
    at each refresh: at 10,000 contracts, rendering every sample each time cost a
    third of a core and held the GIL against the probes' loop."""

    def __init__(self, live: LiveState, refresh_seconds: float = 15.0):
        self.live, self.refresh_seconds = live, refresh_seconds
        self.text = b""  # the families in exposition format, written at refresh, not per scrape
        self.built_at = 0.0
        self.rendered: dict[str, tuple] = {}  # contract → (state, its lines by family, its running windows)

    async def refresh(self) -> None:
        snapshot = await self.live.current(max_age=self.refresh_seconds)
        # in a thread: whatever is left to render, the probes' loop never waits on it
        await asyncio.to_thread(self._build, snapshot)

    def _build(self, snapshot) -> None:
        parts: dict[str, list[str]] = {k: [] for k in _HEADS}
        known = _families()
        until = self.live.rules.schedule.known_until(snapshot.at.astimezone(PRC).date())
        known["known"].add_metric(["cn_workdays"], datetime.combine(until, datetime.min.time(), PRC).timestamp())
        parts["known"].append(_render({"known": known["known"]})["known"])
        now = time.time()
        rendered = {}
        for i, (cid, st) in enumerate(snapshot.states.items()):
            hit = self.rendered.get(cid)
            if hit is None or hit[0] is not st:
                if i % 4 == 0:
                    time.sleep(0)  # give the GIL back to the probes' loop now and then (app.live.evaluate)
                f = _families()
                _add_state(f, st)
                running = [(",".join(f'{k}="{_label_value(v)}"' for k, v in
                                     (("contract", cid), ("incident", w.incident_id), ("window", w.window))),
                            w.deadline.timestamp()) for w in st.windows if w.status == "running"]
                hit = (st, _render(f), running)
            rendered[cid] = hit
            for name, text in hit[1].items():
                if text:
                    parts[name].append(text)
            parts["left"] += [f"{LEFT}{{{labels}}} {floatToGoString(due - now)}\n" for labels, due in hit[2]]
        self.rendered = rendered
        self.text = "".join(_HEADS[k] + "".join(parts[k]) for k in _HEADS).encode()
        self.built_at = time.time()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception:  # keep serving the last picture
                log.exception("refreshing SLA metrics failed")
            await stopped_within(stop, self.refresh_seconds)


class SchedulerHealth:
    """Start drift, probes in flight, results waiting to be written."""

    def __init__(self, service):
        self.service = service  # its worker starts with the service

    def collect(self):
        w = self.service.worker
        if w is None:
            return
        st = w.scheduler.stats
        drift = GaugeMetricFamily("slawatch_scheduler_start_drift_seconds", "Start drift quantiles",
                                  labels=["quantile"])
        for q in (0.5, 0.99):
            drift.add_metric([str(q)], st.drift_quantile(q))
        yield drift
        yield GaugeMetricFamily("slawatch_scheduler_probes_in_flight", "Probes running", value=st.in_flight)
        yield GaugeMetricFamily("slawatch_scheduler_probes_waiting", "Probes due, waiting for a slot", value=st.waiting)
        yield GaugeMetricFamily("slawatch_results_queued", "Results waiting to be written", value=w.queued())
        yield CounterMetricFamily("slawatch_results_dropped", "Results given up: database, spool file and "
                                  "memory bound all full, or a spool line cut short", value=w.spool.dropped)
