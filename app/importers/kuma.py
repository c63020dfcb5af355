"""Uptime Kuma's SQLite database (``kuma.db``, read-only): monitors of type http,
keyword, port, ping, dns and smtp become targets with the same interval and
timeout; Kuma marks a monitor down after ``maxretries`` retries fail, so
``failures_to_open`` is ``maxretries + 1``. A monitor's ``slawatch_contract`` and
``slawatch_category`` tags choose its contract and category (else the defaults
given). Columns are read by name, so older and newer Kuma schemas both work."""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from app.importers import CATEGORY, DEFAULT_CATEGORY, Proposals, ident

SUPPORTED = ("http", "keyword", "port", "ping", "dns", "smtp")


def _config(m: dict) -> tuple[str, dict] | str:
    """(protocol, config), or why the monitor is not imported."""
    kind = m.get("type")
    if m.get("upside_down"):
        return "upside-down mode (down means up) has no slawatch equivalent"
    if kind in ("http", "keyword"):
        if not m.get("url"):
            return "no URL"
        config = {"url": m["url"], "method": (m.get("method") or "GET").upper()}
        if m.get("ignore_tls"):
            config["tls"] = {"verify": False}
        codes = _codes(m.get("accepted_statuscodes_json"))
        if codes is None:
            return f"accepted status codes {m.get('accepted_statuscodes_json')!r} are not a list of codes or ranges"
        if codes:
            config["valid_status"] = codes
        if kind == "keyword":
            if not m.get("keyword"):
                return "keyword monitor without a keyword"
            config["body_not_regex" if m.get("invert_keyword") else "body_regex"] = re.escape(m["keyword"])
        return "http", config
    if kind == "port":
        return "tcp", {"host": m.get("hostname"), "port": m.get("port")}
    if kind == "ping":
        return "icmp", {"host": m.get("hostname")}
    if kind == "dns":
        return "dns", {"server": m.get("dns_resolve_server") or "1.1.1.1", "name": m.get("hostname"),
                       "type": m.get("dns_resolve_type") or "A"}
    if kind == "smtp":
        security = {"secure": "implicit", "starttls": "starttls"}.get(m.get("smtp_security") or "", "none")
        return "smtp", {"host": m.get("hostname"), "port": m.get("port") or 25, "security": security}
    return f"type {kind!r} has no slawatch probe (imported: {', '.join(SUPPORTED)})"


def _codes(raw: str | None) -> list[int] | None:
    """Kuma's accepted codes (``["200-299"]``) as a list; the default 2xx is [] (any 2xx)."""
    try:
        items = json.loads(raw or '["200-299"]')
    except ValueError:
        return None
    if items == ["200-299"]:
        return []
    out: list[int] = []
    for item in items if isinstance(items, list) else [None]:
        match = re.fullmatch(r"(\d{3})(?:-(\d{3}))?", str(item))
        if match is None:
            return None
        lo, hi = int(match[1]), int(match[2] or match[1])
        if hi - lo > 200:
            return None
        out += range(lo, hi + 1)
    return out


def proposals(path: Path, contract: str | None, category: str | None) -> Proposals:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # never written to
    db.row_factory = sqlite3.Row
    try:
        monitors = [dict(r) for r in db.execute("SELECT * FROM monitor ORDER BY id")]
        tags: dict[int, dict[str, str]] = {}
        for r in db.execute("SELECT mt.monitor_id, t.name, mt.value "
                            "FROM monitor_tag mt JOIN tag t ON t.id = mt.tag_id"):
            tags.setdefault(r["monitor_id"], {})[r["name"]] = r["value"] or ""
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path}: not an Uptime Kuma database ({exc})") from None
    finally:
        db.close()
    out = Proposals()
    for m in monitors:
        name = f"monitor {m['id']} {m.get('name') or ''}".strip()
        got = _config(m)
        if isinstance(got, str):
            out.skipped.append((name, got))
            continue
        protocol, config = got
        own = tags.get(m["id"], {})
        cid = own.get("slawatch_contract") or contract
        if not cid:
            out.skipped.append((name, "no contract: tag it slawatch_contract or pass --contract"))
            continue
        try:
            interval = float(m.get("interval") or 60)
            timeout = float(m.get("timeout") or 0) or min(48.0, interval * 0.8)  # Kuma's own default: 80 % of it
            retries = int(m.get("maxretries") or 0)
        except (ValueError, TypeError):
            out.skipped.append((name, "interval, timeout or maxretries is not a number"))
            continue
        out.targets.append({
            "id": ident("kuma", m["id"], m.get("name") or ""), "contract_id": cid, "protocol": protocol,
            "config": config, "category": own.get("slawatch_category") or category
            or CATEGORY.get(protocol, DEFAULT_CATEGORY),
            "interval": interval, "timeout": min(timeout, interval),
            "failures_to_open": max(1, retries + 1), "enabled": bool(m.get("active", 1))})
    return out
