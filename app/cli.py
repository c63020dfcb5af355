"""``slawatch`` command line. Errors are one line on stderr, never a traceback."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import typer

from app.contracts.errors import CaseError
from app.contracts.rules import Rules, load_rules
from app.contracts.yamlfile import RulesError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="SLA monitoring and compensation calculator.")
rules_app = typer.Typer(no_args_is_help=True, help="Check and show the SLA rule templates.")
app.add_typer(rules_app, name="rules")
calendars_app = typer.Typer(no_args_is_help=True, help="The PRC working-day schedule: import a year, show one.")
app.add_typer(calendars_app, name="calendars")

EXIT_INVALID = 2


def fail(message: str, code: int = EXIT_INVALID) -> None:
    typer.echo(f"slawatch: {message}", err=True)
    raise typer.Exit(code)


def _settings():
    from pydantic import ValidationError

    from app.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        fail(f"SLAWATCH_{str(err['loc'][0]).upper()}: {msg}" if err["loc"] else f"settings: {msg}")


def _rules() -> Rules:
    try:
        return load_rules(_settings().rules_dir)
    except RulesError as exc:
        fail(str(exc), 1)


def _modules(settings) -> None:
    from app.probing.modules import load_modules

    try:
        load_modules(settings.probe_modules)
    except RulesError as exc:
        fail(f"{exc} (SLAWATCH_PROBE_MODULES)", 1)
    except OSError as exc:
        fail(f"SLAWATCH_PROBE_MODULES: {exc}", 1)


def dump(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


def _run_case(case_file: str, validate, compute) -> None:
    """Read a case (file or ``-``), validate, compute, print; exit 2 naming the field."""
    from app.contracts.cases import parse_case_json

    try:
        text = sys.stdin.buffer.read() if case_file == "-" else Path(case_file).read_bytes()
    except OSError as exc:
        fail(f"{case_file}: {exc.strerror}")
    rules = _rules()
    try:
        report = compute(validate(parse_case_json(text)), rules)
    except CaseError as exc:
        fail(str(exc))
    typer.echo(dump(report))


@app.command()
def evaluate(case_file: str = typer.Argument(..., metavar="CASE.json", help="evaluation case, or - for stdin")) -> None:
    """Evaluate one contract-month: windows, outage, credit, cap, termination right."""
    from app.evaluation.service import evaluate_case, validate_case

    _run_case(case_file, validate_case, evaluate_case)


@app.command()
def ledger(case_file: str = typer.Argument(..., metavar="CASE.json", help="ledger case, or - for stdin")) -> None:
    """A contract's billing terms at an instant: charges, deadlines, notices, status."""
    from app.ledger.service import ledger_case, validate_ledger_case

    _run_case(case_file, validate_ledger_case, ledger_case)


@calendars_app.command("import")
def calendars_import(notice: Path = typer.Argument(..., metavar="FILE", help="holiday-cn JSON or iCalendar (.ics)"),
                     year: int = typer.Option(None, help="the notice's year (iCalendar: default the most common)")
                     ) -> None:
    """Write sla_rules/calendars/cn-YYYY.yaml from a State Council schedule; nothing on error."""
    from app.contracts.calendar_import import (
        NoticeError,
        plan,
        read_notice,
        render,
        write_atomic,
    )
    from app.contracts.rules import load_calendar

    rules = _rules()
    try:
        p = plan(read_notice(notice, year), rules.schedule)
    except NoticeError as exc:
        fail(f"{exc}" if str(exc).startswith(str(notice)) else f"{notice}: {exc}")
    target = Path(rules.root) / "calendars" / f"cn-{p.year}.yaml"
    existed = target.exists()
    write_atomic(target, render(p))
    try:
        load_calendar(target, Path(rules.root).parent)  # what was written reads back
    except RulesError as exc:  # pragma: no cover - render() writes what load_calendar reads
        target.unlink()
        fail(str(exc))
    typer.echo(f"{'replaced' if existed else 'wrote'} {target}: {len(p.holidays)} holidays on weekdays, "
               f"{len(p.workdays)} make-up working days (source: {p.source})")
    for d, n in sorted(p.holidays.items()):
        typer.echo(f"  off {d.isoformat()} {d.strftime('%a')} {n}")
    for d, n in sorted(p.workdays.items()):
        typer.echo(f"  on  {d.isoformat()} {d.strftime('%a')} {n}")
    for d, why in p.skipped:
        typer.echo(f"  skipped {d.day.isoformat()} {d.name}: {why}")
    typer.echo("running services pick it up on SIGHUP or POST /v1/admin/rules/reload")


@calendars_app.command("show")
def calendars_show(year: int = typer.Argument(..., metavar="YEAR")) -> None:
    """The year's days that differ from the standard week (holidays on weekdays, make-up working days)."""
    from app.calendars import CalendarError

    rules = _rules()
    try:
        days = rules.schedule.nonstandard_days(year)
    except CalendarError as exc:
        fail(str(exc), 1)
    except (ValueError, OverflowError):
        fail(f"year: {year} is not a calendar year")
    source = rules.schedule.overrides[year].source if year in rules.schedule.overrides else "chinese-calendar"
    typer.echo(f"{year} ({source}): {sum(not on for _, on in days)} holidays on weekdays, "
               f"{sum(on for _, on in days)} make-up working days")
    for d, on in days:
        typer.echo(f"  {'on ' if on else 'off'} {d.isoformat()} {d.strftime('%a')}")


@rules_app.command("check")
def rules_check() -> None:
    """Validate every template, calendar override and contract file; exit 1 on the first bad one."""
    from app.contracts.lifecycle import today_in_prc

    rules = _rules()
    typer.echo(f"ok: {len(rules.templates)} templates, {len(rules.schedule.overrides)} calendar overrides, "
               f"{len(rules.contracts)} contracts ({rules.root})")
    warning = rules.schedule.missing_year_warning(today_in_prc())
    if warning:  # a warning, not a failure: the year has not begun yet (or the file is on its way)
        typer.echo(warning)


@rules_app.command("show")
def rules_show(template_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Print a template's windows, credits, cap and termination rule with their clauses."""
    from app.reports.rules import describe, render_text

    rules = _rules()
    t = rules.templates.get(template_id)
    if t is None:
        fail(f"unknown template {template_id!r} (known: {', '.join(sorted(rules.templates))})", 1)
    typer.echo(render_text(describe(t)))


@app.command()
def probe(url: str = typer.Argument(..., help="smtp://host:25, imaps://user@host, https://host/path, tcp://host:22, "
                                                "icmp://host, dns://server/name?type=MX"),
          starttls: bool = typer.Option(False, "--starttls", help="SMTP/POP3: upgrade with STARTTLS"),
          timeout: float = typer.Option(10.0, min=0.1, help="seconds"),
          insecure: bool = typer.Option(False, "--insecure", help="do not verify certificates"),
          ca_file: str = typer.Option(None, "--ca-file", help="trust this CA (PEM)"),
          username: str = typer.Option(None, "--username"),
          password: str = typer.Option(None, "--password", envvar="SLAWATCH_PROBE_PASSWORD"),
          min_days_left: int = typer.Option(None, "--min-days-left", help="fail when the certificate expires sooner"),
          as_json: bool = typer.Option(False, "--json", help="print the result as JSON")) -> None:
    """Run one probe now and print the result; exit 0 when ok, 1 when not."""
    import asyncio

    from probes import PROBES
    from probes.urls import ProbeUrlError, parse_probe_url

    try:
        proto, target = parse_probe_url(url, starttls=starttls, insecure=insecure, ca_file=ca_file,
                                        username=username, password=password, min_days_left=min_days_left)
    except ProbeUrlError as exc:
        fail(str(exc))
    result = asyncio.run(PROBES[proto](target, timeout))  # one probe: the default loop is plenty
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        state = "ok" if result.ok else f"FAIL {result.error}"
        phases = "  ".join(f"{k}={v * 1000:.1f}ms" for k, v in result.phases.items() if k != "setup")
        typer.echo(f"{proto} {url}: {state} in {result.duration_seconds * 1000:.1f} ms  {phases}")
        for k, v in result.detail.items():
            typer.echo(f"  {k}: {v}")
    raise typer.Exit(0 if result.ok else 1)


def _engine():
    from app.storage.db import make_engine

    s = _settings()
    return make_engine(s.database_url, s.database_schema)


def _upgrade() -> None:
    from app.storage.db import upgrade

    try:
        upgrade(_engine())
    except Exception as exc:  # noqa: BLE001 - one line for a person, not a traceback
        from app.logs import masked_url
        fail(f"database {masked_url(_settings().database_url)}: {str(exc).splitlines()[0][:300]}", 1)


def _logging(level: str) -> None:
    from app.logs import configure
    configure(level)


def _progress(message: str) -> None:
    typer.echo(f"slawatch: {message}", err=True)


def _demo_ports_free(settings) -> None:
    """A port taken by something else is one clear line, not a traceback from the start-up."""
    import socket

    from app.demo.state import OFFSETS, demo_of

    demo = demo_of(settings)
    for name in OFFSETS:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((demo.host, demo.port(name)))
            except OSError as exc:
                fail(f"demo {name} port {demo.host}:{demo.port(name)}: {exc.strerror}; stop what holds it or "
                     f"set SLAWATCH_DEMO_PORT_BASE (now {demo.port_base})", 1)


def _serve(host: str | None, port: int | None, worker: bool, demo: bool = False, tickets: bool = False) -> None:
    import uvicorn

    from app.api.main import create_app
    from app.logs import masked_url

    settings = _settings()
    host, port = host or settings.host, port or settings.port
    update = {} if "public_url" in settings.model_fields_set else {"public_url": f"http://{host}:{port}"}
    if demo or settings.demo:
        # the demo's tickets land in a mailbox file next to it, besides any configured sink
        update.update(demo=True, ticket_mbox=settings.ticket_mbox or settings.demo_dir / "tickets.mbox")
        if settings.notify_dingtalk_url is None:  # and to the demo's DingTalk robot, which writes them to the log
            from pydantic import SecretStr

            from app.demo.state import OFFSETS
            from app.demo.web import DEMO_ROBOT_SECRET
            update.update(notify_dingtalk_url=f"http://127.0.0.1:{settings.demo_port_base + OFFSETS['sms']}/robot/send"
                                              "?access_token=demo", notify_dingtalk_secret=SecretStr(DEMO_ROBOT_SECRET))
    settings = settings.model_copy(update=update)
    if settings.demo:
        _demo_ports_free(settings)
        if settings.secret_key is None:  # the demo's passwords are encrypted like any: with a development key
            settings = settings.model_copy(update={"secret_key": _demo_key(settings.demo_dir)})
    _logging(settings.log_level)
    _progress(f"loading rules from {settings.rules_dir} …")
    rules = _rules()  # a bad rules file stops the start with file:line, not a traceback later
    _modules(settings)  # so does a bad probe modules file, before the database is touched
    _progress(f"{len(rules.templates)} templates, {len(rules.contracts)} contract files; "
              f"migrating {masked_url(settings.database_url)} …")
    _upgrade()
    _secrets_ready(settings)
    _progress(f"starting on http://{host}:{port} (API docs at /docs)"
              + (", with the demo services" if settings.demo else ""))
    # uvloop where installed: it halves the CPU per probe (benchmarks/probes.py)
    from app.api.probe import ProbeFastPath
    # (the access log is ProbeFastPath's: uvicorn's would write a line for every scrape)
    uvicorn.run(ProbeFastPath(create_app(settings, worker=worker, tickets=tickets)), host=host, port=port,
                access_log=False,
                log_level=settings.log_level,
                loop="auto")


@app.command()
def run(host: str = typer.Option(None, help="default SLAWATCH_HOST or 127.0.0.1"),
        port: int = typer.Option(None, help="default SLAWATCH_PORT or 8000"),
        demo: bool = typer.Option(False, "--demo", help="also run the demo services, example contracts and demo "
                                                         "targets (SLAWATCH_DEMO)")) -> None:
    """Run the service: API, probe scheduler and incident detector in one process."""
    _serve(host, port, worker=True, demo=demo)


@app.command()
def api(host: str = typer.Option(None), port: int = typer.Option(None)) -> None:
    """Run the API without probing; it sends tickets while it holds the sender's
    lock (one process at a time on PostgreSQL)."""
    _serve(host, port, worker=False, tickets=True)


@app.command()
def worker(lease: float | None = typer.Option(None, min=1, help="lease seconds: a dead worker's targets move within "
                                                           "this (default 30)")) -> None:
    """Probe and detect without the API; several workers share targets through
    PostgreSQL leases (FOR UPDATE SKIP LOCKED)."""
    import asyncio
    import signal

    from app.probing.worker import LEASE_SECONDS, Worker
    from app.storage.db import is_shared, sessions

    settings = _settings()
    if not is_shared(settings.database_url):
        fail("slawatch worker shares targets through PostgreSQL leases: set SLAWATCH_DATABASE_URL=postgresql+asyncpg://…")
    _logging(settings.log_level)
    _upgrade()
    _secrets_ready(settings)

    async def go():
        from app.probing.sms_relay import listen

        engine = _engine()
        relayed = await listen(settings.database_url)  # SMS delivery reports the API relays
        w = Worker(sessions(engine), lease_seconds=lease or LEASE_SECONDS, vault=settings.vault(),
                   data_dir=settings.data_dir, name=settings.worker_name("worker"))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await w.start()
        typer.echo(f"worker {w.name}: probing with {w.lease_seconds:.0f} s leases", err=True)
        await stop.wait()
        await w.close()
        await relayed.close()
        await engine.dispose()
    asyncio.run(go())


def _demo_key(folder: Path):
    """A development key kept in the demo folder (owner-readable), created once."""
    from pydantic import SecretStr

    from app.auth.vault import keygen

    path = Path(folder) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(keygen() + "\n")
        _progress(f"created a development secret key in {path} (the demo's passwords are encrypted with it; "
                  "set SLAWATCH_SECRET_KEY in production)")
    return SecretStr(path.read_text().strip())


def _secrets_ready(settings, rotate: bool = False) -> int:
    """Stored secrets open with the configured key, and none is left in the clear."""
    from app.auth.sealing import seal_stored
    from app.auth.vault import VaultError

    try:
        return _with_db(lambda db: seal_stored(db, settings.vault(), rotate))
    except VaultError as exc:
        message = str(exc)
        fail(message if message.startswith("SLAWATCH_SECRET_KEY") else f"SLAWATCH_SECRET_KEY: {message}")


secrets_app = typer.Typer(no_args_is_help=True, help="The key that encrypts stored secrets.")
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("keygen")
def secrets_keygen() -> None:
    """Print a new key for SLAWATCH_SECRET_KEY (Fernet: 32 random bytes, URL-safe base64)."""
    from app.auth.vault import keygen

    typer.echo(keygen())


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret with the first key of SLAWATCH_SECRET_KEY="NEW,OLD"."""
    settings = _settings()
    if settings.secret_key is None:
        fail("SLAWATCH_SECRET_KEY: set it to NEW,OLD to rotate")
    typer.echo(f"re-encrypted the secrets of {_secrets_ready(settings, rotate=True)} rows with the first key; "
               "the old key can now be dropped")


db_app = typer.Typer(no_args_is_help=True, help="The database.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    _upgrade()
    typer.echo("database is at the newest migration")


tokens_app = typer.Typer(no_args_is_help=True, help="API tokens.")
app.add_typer(tokens_app, name="tokens")


def _with_db(fn):
    """Run ``fn(session)`` on an upgraded database, in one event loop."""
    import asyncio

    from app.storage.db import sessions

    _upgrade()

    async def go():
        engine = _engine()
        try:
            async with sessions(engine)() as db:
                return await fn(db)
        finally:
            await engine.dispose()
    return asyncio.run(go())


@tokens_app.command("create")
def tokens_create(role: str = typer.Option(..., help="admin, noc, customer or scrape (Prometheus)"),
                  customer: str = typer.Option(None, help="the customer a customer token is bound to"),
                  name: str = typer.Option("", help="a label"),
                  expires: str = typer.Option(None, help="lifetime, e.g. 90d or 12h (default: never)")) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    from app.auth.service import create_token
    from app.calendars.durations import parse_span

    try:
        life = parse_span(expires) if expires is not None else None
    except ValueError as exc:
        fail(f"--expires: {exc}")
    try:
        typer.echo(_with_db(lambda db: create_token(db, role, customer, name, life)))
    except ValueError as exc:
        fail(str(exc))


notify_app = typer.Typer(no_args_is_help=True, help="The on-duty channels (DingTalk, WeCom, Feishu, SMS).")
app.add_typer(notify_app, name="notify")


@notify_app.command("test")
def notify_test(channel: str = typer.Argument(..., help="dingtalk, wecom, feishu or sms"),
                to: str = typer.Option(None, help="a person of the rota to page (mentioned, or texted)")) -> None:
    """Send a test message through a configured channel and print its answer."""
    import asyncio
    from datetime import datetime, timedelta, timezone

    from app.notify.registry import CHANNELS, channels_from

    if channel not in CHANNELS:
        fail(f"CHANNEL: unknown channel {channel!r} (known: {', '.join(sorted(CHANNELS))})")
    sinks = {c.name: c for c in channels_from(_settings())}
    if channel not in sinks:
        fail(f"CHANNEL: {channel} is not set up (SLAWATCH_NOTIFY_{channel.upper()}_URL)")
    people = []
    if to is not None:
        rota = _rules().oncall
        person = next((p for p in (rota.people if rota else []) if p.id == to), None)
        if person is None:
            fail(f"--to: no person {to!r} in the rota (sla_rules/oncall.yaml)")
        people = [person.model_dump(exclude_none=True)]
    due = (datetime.now(timezone.utc) + timedelta(minutes=30)).isoformat()
    ticket = {"id": "test", "kind": "escalation", "contract_id": "test", "customer_id": None, "incident_id": None,
              "payload": {"window": "test", "clause": "测试", "original": "slawatch notify test", "deadline": due,
                          "step": "test", "to": "on_duty", "sms": True, "page_to": people}}
    try:
        answer = asyncio.run(sinks[channel].send(ticket))
    except Exception as exc:  # noqa: BLE001 - whatever the channel said is the answer to show
        fail(f"{channel}: {exc}", code=1)
    typer.echo(f"{channel}: {answer}")


oncall_app = typer.Typer(no_args_is_help=True, help="Who is on duty (sla_rules/oncall.yaml).")
app.add_typer(oncall_app, name="oncall")


@oncall_app.command("now")
def oncall_now(at: str = typer.Option(None, help="an instant with its offset, e.g. 2026-10-10T10:00:00+08:00")) -> None:
    """Print who is on duty, team by team."""
    from datetime import datetime, timezone

    from app.calendars.base import CalendarError
    from app.oncall.rota import on_duty

    rules = _rules()
    if rules.oncall is None:
        fail(f"no rota: add {rules.root}/oncall.yaml")
    try:
        when = datetime.fromisoformat(at) if at else datetime.now(timezone.utc)
    except ValueError:
        fail("--at: expected an ISO 8601 instant, e.g. 2026-10-10T10:00:00+08:00")
    if when.tzinfo is None:
        fail("--at: the instant has no UTC offset")
    try:
        duties = on_duty(rules.oncall, rules.schedule, when)
    except CalendarError as exc:
        fail(f"--at: {exc}")
    for d in duties:
        typer.echo(f"{d.team}\t{d.shift}\t{', '.join(f'{p.name} ({p.id})' for p in d.people)}\t"
                   f"{d.start.isoformat()} – {d.end.isoformat()}")
    if not duties:
        typer.echo("nobody is on duty then")


portal_app = typer.Typer(no_args_is_help=True, help="The web portal.")
app.add_typer(portal_app, name="portal")


@portal_app.command("link")
def portal_link(customer: str = typer.Option(None, help="the customer the link signs in"),
                role: str = typer.Option(None, help="noc or admin: a staff link (instead of --customer)"),
                expires: str = typer.Option("24h", help="lifetime, e.g. 24h or 7d (at most 7d)")) -> None:
    """Print a one-time sign-in link (SLAWATCH_PUBLIC_URL/portal/link/…); only its digest is kept."""
    from app.calendars.durations import parse_span
    from app.portal.tokens import PortalError, create_link, link_url

    if (customer is None) == (role is None):
        fail("give --customer ID (a customer's link) or --role noc|admin (a staff link)")
    try:
        life = parse_span(expires)
    except ValueError as exc:
        fail(f"--expires: {exc}")
    try:
        token = _with_db(lambda db: create_link(db, role or "customer", customer, life))
    except PortalError as exc:
        fail(f"--{'customer' if exc.field == 'customer_id' else exc.field.replace('_', '-')}: {exc.message}")
    typer.echo(link_url(_settings().public_url, token))


@tokens_app.command("list")
def tokens_list(as_json: bool = typer.Option(False, "--json", help="one JSON document")) -> None:
    """One line per token: id, role, customer, created, last used, expiry (never the token)."""
    from app.auth.service import describe, list_tokens

    rows = [describe(r) for r in _with_db(list_tokens)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        state = "revoked" if r["revoked"] else f"expires {r['expires_at'] or 'never'}"
        typer.echo(f"{r['id']}  {r['role']:<8} {r['customer_id'] or '-':<16} created {r['created_at']}  "
                   f"last used {r['last_used_at'] or 'never'}  {state}  {r['name']}")


@tokens_app.command("revoke")
def tokens_revoke(token_id: str = typer.Argument(..., metavar="TOKEN_ID")) -> None:
    """Revoke a token by its id (from `tokens list`); running services refuse it within 5 s."""
    from app.auth.service import revoke_token

    if not _with_db(lambda db: revoke_token(db, token_id)):
        fail(f"no token {token_id!r}")
    typer.echo(f"revoked {token_id}")


contracts_app = typer.Typer(no_args_is_help=True, help="Contract instances.")
app.add_typer(contracts_app, name="contracts")


@contracts_app.command("import")
def contracts_import(files: list[Path] = typer.Argument(..., help="contract YAML files (sla_rules/contracts/…)")
                     ) -> None:
    """Load contract files into the database (creating their customers); all or nothing."""
    from app.contracts.rules import load_contract
    from app.writes import create_contracts

    rules = _rules()
    try:
        contracts = [load_contract(f, Path.cwd(), rules.templates) for f in files]
    except (RulesError, OSError) as exc:
        fail(str(exc))
    try:
        _with_db(lambda db: create_contracts(db, contracts, rules, _settings().vault(), datetime.now(timezone.utc)))
    except CaseError as exc:
        fail(str(exc))
    typer.echo(f"imported {len(contracts)} contracts")


demo_app = typer.Typer(no_args_is_help=True, help="The demo of `make run`: break and restore its services.")
app.add_typer(demo_app, name="demo")
SERVICE_ARG = typer.Argument(..., metavar="mail|server|sms", help="which demo service")


def _demo(service: str | None = None):
    from app.demo.state import SERVICES, demo_of

    if service is not None and service not in SERVICES:
        fail(f"unknown demo service {service!r} (known: {', '.join(SERVICES)})")
    return demo_of(_settings())


def _watchers(service: str) -> str:
    from app.demo.targets import watchers_of
    return ", ".join(f"{tid} ({cid})" for tid, cid in watchers_of(service))


@demo_app.command("break")
def demo_break(service: str = SERVICE_ARG) -> None:
    """Make a demo service fail: its targets fail from their next round, an incident opens after 3."""
    from app.demo.state import BREAKS

    _demo(service).set_broken(service, True)
    typer.echo(f"{service} is broken: {BREAKS[service]}.\nFailing from their next round (every 10 s): "
               f"{_watchers(service)}.\nAn incident opens after 3 failed rounds; "
               f"`slawatch demo restore {service}` ends it.")


@demo_app.command("restore")
def demo_restore(service: str = SERVICE_ARG) -> None:
    """Make a demo service work again: its incident resolves after 2 good rounds."""
    _demo(service).set_broken(service, False)
    typer.echo(f"{service} is restored; its incidents resolve after 2 good rounds (about 20 s).")


@demo_app.command("status")
def demo_status() -> None:
    """Which demo services are broken."""
    from app.demo.state import SERVICES

    demo = _demo()
    for service in SERVICES:
        typer.echo(f"{service:7} {'BROKEN' if demo.is_broken(service) else 'ok':7} {_watchers(service)}")




import_app = typer.Typer(no_args_is_help=True, help="Targets from the monitoring you already run.")
app.add_typer(import_app, name="import")
CONTRACT_OPT = typer.Option(None, "--contract", help="contract of every target without its own slawatch_contract")
CATEGORY_OPT = typer.Option(None, "--category", help="incident category (default: mail checks mail_send_receive, "
                                                    "others service_unavailable)")
DRY_OPT = typer.Option(False, "--dry-run", help="print what would be created; write nothing")


def _import(read, dry_run: bool) -> None:
    """Print what is created and what is skipped, and why; write the created ones at once."""
    from app.importers.store import store

    try:
        found = read()
    except (ValueError, OSError) as exc:
        fail(str(exc))
    rows, skipped = _with_db(lambda db: store(db, found, _settings().vault(), write=not dry_run))
    verb = "would create" if dry_run else "created"
    typer.echo(f"{verb} {len(rows)} targets:")
    for r in rows:
        typer.echo(f"  {r.id}: {r.protocol} every {r.interval:g} s, opens after {r.failures_to_open} failures, "
                   f"contract {r.contract_id}, {r.category}{'' if r.enabled else ' (disabled, as in the source)'}")
    typer.echo(f"skipped {len(skipped)}:")
    for what, why in skipped:
        typer.echo(f"  {what}: {why}")
    if rows and not dry_run:
        typer.echo("A running `slawatch run` probes them within 30 s; `slawatch worker`s at their next lease round.")


@import_app.command("kuma")
def import_kuma(db_file: Path = typer.Argument(..., help="Uptime Kuma's kuma.db (read, never written)"),
                contract: str | None = CONTRACT_OPT, category: str | None = CATEGORY_OPT,
                dry_run: bool = DRY_OPT) -> None:
    """Uptime Kuma's monitors (http, keyword, port, ping, dns, smtp) as targets."""
    from app.importers import kuma

    if not db_file.is_file():
        fail(f"{db_file}: no such file")
    _import(lambda: kuma.proposals(db_file, contract, category), dry_run)


@import_app.command("blackbox")
def import_blackbox(prometheus_yml: Path = typer.Argument(..., help="prometheus.yml with the /probe scrape jobs"),
                    blackbox_yml: Path = typer.Argument(..., help="blackbox.yml with their modules"),
                    contract: str | None = CONTRACT_OPT, category: str | None = CATEGORY_OPT,
                    dry_run: bool = DRY_OPT) -> None:
    """blackbox_exporter's probes (http, tcp, icmp, dns modules) as targets."""
    from app.importers import blackbox

    _import(lambda: blackbox.proposals(prometheus_yml, blackbox_yml, contract, category), dry_run)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
