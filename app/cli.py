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
        fail(f"SLAWATCH_{str(err['loc'][0]).upper()}: {err['msg']}")


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


@app.command()
def run(host: str = typer.Option(None, help="default SLAWATCH_HOST or 127.0.0.1"),
        port: int = typer.Option(None, help="default SLAWATCH_PORT or 8000")) -> None:
    """Run the service (API) on the embedded default."""
    import uvicorn

    from app.api.main import create_app

    settings = _settings()
    _rules()  # a bad rules file stops the start with file:line, not a traceback later
    # uvloop where installed: it halves the CPU per probe (benchmarks/probes.py)
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port,
                log_level=settings.log_level, loop="auto")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
