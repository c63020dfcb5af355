"""A template described: the dict of ``GET /v1/templates/{id}`` and the text of
``slawatch rules show``, every rule with its clause and original wording."""
from __future__ import annotations

from app.contracts.templates import Template


def _cited(rule) -> dict:
    return {"clause": rule.clause, "original": rule.original, "basis": rule.basis}


def describe(t: Template) -> dict:
    return {
        "id": t.id, "title": t.title, "seed": t.seed, "service": t.service, "provider": t.provider,
        "timezone": t.timezone,
        "parameters": {n: {"type": p.type, "default": p.default, "description": p.description, **_cited(p)}
                       for n, p in t.parameters.items()},
        "calendars": {n: {"weekly": c.weekly, "workdays_only": c.workdays_only, **_cited(c)}
                      for n, c in t.calendars.items()},
        "windows": [{"name": w.name, "applies_to": w.applies_to, "clock_stop": w.clock_stop,
                     "limit": str(w.limit) if w.limit is not None else None, "limit_param": w.limit_param,
                     "calendar": w.calendar, "pause_on": w.pause_on, **_cited(w)} for w in t.windows],
        "excluded_attributions": [{"attribution": e.attribution, **_cited(e)} for e in t.excluded_attributions],
        "credits": [{"rule": c.rule, "description": c.description, **_cited(c)} for c in t.credits],
        "cap": {"rule": t.cap.rule, **_cited(t.cap)} if t.cap else None,
        "termination": ({"rule": t.termination.rule, "min_duration": str(t.termination.min_duration),
                         **_cited(t.termination)} if t.termination else None),
    }


def render_text(d: dict) -> str:
    def cite(r):
        basis = f" [{r['basis']}]" if r.get("basis") == "policy" else ""
        return f"{r['clause'] or '-'}{basis}" + (f"  「{r['original']}」" if r.get("original") else "")

    out = [f"{d['id']}: {d['title']}  (seed {d['seed']}, {d['timezone']})", "", "windows:"]
    for w in d["windows"]:
        limit = w["limit"] or f"param {w['limit_param']}"
        out.append(f"  {w['name']:<16} {','.join(w['applies_to'])}  stop={w['clock_stop']}  "
                   f"limit={limit}  calendar={w['calendar']}  {cite(w)}")
    out.append("excluded attributions:")
    out += [f"  {e['attribution']:<22} {cite(e)}" for e in d["excluded_attributions"]]
    out.append("credits:")
    out += [f"  {c['rule']:<22} {cite(c)}" for c in d["credits"]] or ["  none written in the contract "
                                                                        "(only an operator credit_policy)"]
    out.append("cap: " + (f"{d['cap']['rule']}  {cite(d['cap'])}" if d["cap"] else "none"))
    t = d["termination"]
    out.append("termination right: " + (f"{t['rule']} >= {t['min_duration']}  {cite(t)}" if t else "none"))
    if d["parameters"]:
        out.append("parameters:")
        out += [f"  {n} = {p['default']}  {cite(p)}" for n, p in d["parameters"].items()]
    return "\n".join(out)
