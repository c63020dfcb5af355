"""``slawatch`` command line. Errors are one line on stderr, never a traceback."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from app.contracts.errors import CaseError
from app.contracts.rules import Rules, load_rules
from app.contracts.yamlfile import RulesError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="SLA monitoring and compensation calculator.")
rules_app = typer.Typer(no_args_is_help=True, help="Check and show the SLA rule templates.")
app.add_typer(rules_app, name="rules")

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


@rules_app.command("check")
def rules_check() -> None:
    """Validate every template, calendar override and contract file; exit 1 on the first bad one."""
    rules = _rules()
    typer.echo(f"ok: {len(rules.templates)} templates, {len(rules.schedule.overrides)} calendar overrides, "
               f"{len(rules.contracts)} contracts ({rules.root})")


@rules_app.command("show")
def rules_show(template_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Print a template's windows, credits, cap and termination rule with their clauses."""
    from app.api.templates import describe, render_text

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
        fail(f"database {_settings().database_url}: {str(exc).splitlines()[0][:300]}", 1)


def _serve(host: str | None, port: int | None, worker: bool) -> None:
    import uvicorn

    from app.api.main import create_app

    settings = _settings()
    _rules()  # a bad rules file stops the start with file:line, not a traceback later
    _upgrade()
    # uvloop where installed: it halves the CPU per probe (benchmarks/probes.py)
    uvicorn.run(create_app(settings, worker=worker), host=host or settings.host, port=port or settings.port,
                log_level=settings.log_level, loop="auto")


@app.command()
def run(host: str = typer.Option(None, help="default SLAWATCH_HOST or 127.0.0.1"),
        port: int = typer.Option(None, help="default SLAWATCH_PORT or 8000")) -> None:
    """Run the service: API, probe scheduler and incident detector in one process."""
    _serve(host, port, worker=True)


@app.command()
def api(host: str = typer.Option(None), port: int = typer.Option(None)) -> None:
    """Run the API alone (no probing)."""
    _serve(host, port, worker=False)


@app.command()
def worker(lease: float = typer.Option(30.0, min=1, help="lease seconds: a dead worker's targets move within this")) -> None:
    """Probe and detect without the API; several workers share targets through
    PostgreSQL leases (FOR UPDATE SKIP LOCKED)."""
    import asyncio
    import signal

    from app.runtime import Worker
    from app.storage.db import sessions

    settings = _settings()
    if not settings.database_url.startswith("postgresql"):
        fail("slawatch worker shares targets through PostgreSQL leases: set SLAWATCH_DATABASE_URL=postgresql+asyncpg://…")
    _upgrade()

    async def go():
        engine = _engine()
        w = Worker(sessions(engine), lease_seconds=lease)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await w.start()
        typer.echo(f"worker {w.name}: probing with {lease:.0f} s leases", err=True)
        await stop.wait()
        await w.close()
        await engine.dispose()
    asyncio.run(go())


db_app = typer.Typer(no_args_is_help=True, help="The database.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    _upgrade()
    typer.echo("database is at the newest migration")


tokens_app = typer.Typer(no_args_is_help=True, help="API tokens.")
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
def tokens_create(role: str = typer.Option(..., help="admin, noc or customer"),
                  customer: str = typer.Option(None, help="the customer a customer token is bound to"),
                  name: str = typer.Option("", help="a label")) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    import asyncio

    from app.auth.service import create_token
    from app.storage.db import sessions

    _upgrade()

    async def go():
        engine = _engine()
        try:
            async with sessions(engine)() as db:
                return await create_token(db, role, customer, name)
        finally:
            await engine.dispose()
    try:
        typer.echo(asyncio.run(go()))
    except ValueError as exc:
        fail(str(exc))


contracts_app = typer.Typer(no_args_is_help=True, help="Contract instances.")
app.add_typer(contracts_app, name="contracts")


@contracts_app.command("import")
def contracts_import(files: list[Path] = typer.Argument(..., help="contract YAML files (sla_rules/contracts/…)")) -> None:
    """Load contract files into the database (creating their customers); all or nothing."""
    import asyncio

    from app.contracts.rules import load_contract
    from app.contracts.service import save_contract
    from app.storage.db import sessions
    from app.storage.tables import Customer

    rules = _rules()
    try:
        contracts = [load_contract(f, Path.cwd(), rules.templates) for f in files]
    except (RulesError, OSError) as exc:
        fail(str(exc))
    _upgrade()

    async def go():
        engine = _engine()
        try:
            async with sessions(engine)() as db:
                for c in contracts:
                    if c.customer is None:
                        raise CaseError("/customer", f"{c.id}: a contract file needs its customer")
                    if await db.get(Customer, c.customer) is None:
                        db.add(Customer(id=c.customer, name=c.customer))
                        await db.flush()
                    await save_contract(db, c, rules, replace=True, commit=False)
                await db.commit()
        finally:
            await engine.dispose()
    try:
        asyncio.run(go())
    except CaseError as exc:
        fail(str(exc))
    typer.echo(f"imported {len(contracts)} contracts")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
