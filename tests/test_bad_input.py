"""Bad input gets one clear error naming the field, and no partial report:
the CLI exits 2 with nothing on stdout, the API answers 422 problem+json."""
import json
import subprocess
import sys

import pytest
from conftest import ROOT

EXAMPLE = json.loads((ROOT / "tests/cases/example1_xiamen.json").read_text())
SLAWATCH = [sys.executable, "-m", "app.cli"]


def mutate(path: str, value):
    case = json.loads(json.dumps(EXAMPLE))
    *parents, last = path.strip("/").split("/")
    node = case
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is KeyError:
        del node[last]
    else:
        node[int(last) if isinstance(node, list) else last] = value
    return case


CASES = [
    (mutate("/incidents/0/started_at", "2026-10-03T22:00:00"),
     "/incidents/0/started_at", "datetime has no UTC offset"),
    (mutate("/at", "2026-11-01 00:00"), "/at", "datetime has no UTC offset"),
    (mutate("/contract/template", "xiamen-mial"), "/contract/template",
     "unknown template 'xiamen-mial' (known: aliyun-mail, inolink-sms, ningbo-colo, shengjing-crm, xiamen-mail)"),
    (mutate("/incidents/2/resolved_at", "2026-10-19T09:00:00+08:00"), "/incidents/2/resolved_at",
     "resolved_at is before started_at"),
    (mutate("/incidents/0/reported_at", "2026-10-03T21:00:00+08:00"), "/incidents/0/reported_at",
     "reported_at is before started_at"),
    (mutate("/contract/payments/0/amount", "-3600.00"), "/contract/payments/0/amount", "amount must not be negative"),
    (mutate("/contract/month_fee", "300.005"), "/contract/month_fee", "amount has more than two decimals"),
    (mutate("/contract/month_fee", "abc"), "/contract/month_fee", 'amount must be a decimal string like "300.00"'),
    (mutate("/period", "2026-13"), "/period", "period must be a month like 2026-10"),
    (mutate("/period", "Oct 2026"), "/period", "period must be a month like 2026-10"),
    (mutate("/contract/payments/0/months", "2026-12/2026-01"), "/contract/payments/0/months",
     "months range ends before it starts"),
    (mutate("/incidents/0/categroy", "x"), "/incidents/0/categroy", "unknown field"),
    (mutate("/incidents/0/category", "disk_full"), "/incidents/0/category",
     "expected one of 'mail_send_receive', 'server_fault', 'sms_delivery', 'service_unavailable', "
     "'mail_general', 'credential_reset', 'activation' or 'renewal'"),
    (mutate("/incidents/1/id", "A"), "/incidents/1/id", "incident id 'A' appears twice"),
    (mutate("/contract/month_fee", KeyError), "/contract/month_fee",
     "required by the per_affected_day credit (违约 4)"),
    (mutate("/contract/timezone", "Asia/Beijing"), "/contract/timezone", "unknown time zone 'Asia/Beijing'"),
    (mutate("/contract/params", {"maintenance_max": "two hours"}), "/contract/params/maintenance_max",
     "expected a duration like 2h or 1wd"),
    (mutate("/contract/params", {"notify_limit": "1h"}), "/contract/params/notify_limit",
     "unknown parameter for template xiamen-mail (known: maintenance_max, min_outage_per_day)"),
    (mutate("/contract/credit_policy", {"rule": "availability_tiers"}), "/contract/credit_policy/tiers",
     "availability_tiers needs at least one tier"),
    (mutate("/incidents/0/pauses", [{"start": "2026-10-04T00:00:00+08:00", "end": "2026-10-03T23:00:00+08:00"}]),
     "/incidents/0/pauses/0/end", "end is before start"),
    ([], "/", "expected an object"),
    # strict instants: a JSON number is no instant; instants and periods within 1970–2100
    (mutate("/at", 1760000000), "/at", "instant must be an ISO 8601 string with a UTC offset"),
    (mutate("/incidents/0/started_at", 1760000000.5), "/incidents/0/started_at",
     "instant must be an ISO 8601 string with a UTC offset"),
    (mutate("/at", "0001-01-01T00:00:00+08:00"), "/at", "instant must be within 1970–2100"),
    (mutate("/incidents/0/resolved_at", "9999-12-31T23:00:00-08:00"), "/incidents/0/resolved_at",
     "instant must be within 1970–2100"),
    (mutate("/period", "0000-01"), "/period", "period must be within 1970–2100"),
    (mutate("/contract/month_fee", "1e999999"), "/contract/month_fee", "amount must have at most 12 integer digits"),
]


def run_cli(stdin: bytes):
    return subprocess.run([*SLAWATCH, "evaluate", "-"], input=stdin, capture_output=True, cwd=ROOT, timeout=60)


@pytest.mark.parametrize("case, pointer, message", CASES, ids=[c[1] + ":" + c[2][:20] for c in CASES])
def test_api_names_the_field(client, case, pointer, message):
    res = client.post("/v1/evaluations", content=json.dumps(case))
    assert res.status_code == 422
    assert res.headers["content-type"] == "application/problem+json"
    body = res.json()
    assert body["status"] == 422 and body["detail"] == f"{pointer}: {message}"
    assert body["errors"][0] == {"pointer": pointer, "detail": message}


@pytest.mark.parametrize("case, pointer, message", CASES[:4], ids=[c[1] for c in CASES[:4]])
def test_cli_exits_2_with_one_message_and_no_stdout(case, pointer, message):
    res = run_cli(json.dumps(case).encode())
    assert res.returncode == 2
    assert res.stdout == b""
    assert res.stderr.decode().strip() == f"slawatch: {pointer}: {message}"


def test_cli_invalid_json_and_missing_file():
    res = run_cli(b'{"contract": ')
    assert (res.returncode, res.stdout) == (2, b"")
    assert res.stderr.decode().startswith("slawatch: /: invalid JSON: ")
    res = subprocess.run([*SLAWATCH, "evaluate", "no-such-case.json"], capture_output=True, cwd=ROOT, timeout=60)
    assert (res.returncode, res.stdout) == (2, b"")
    assert res.stderr.decode().strip() == "slawatch: no-such-case.json: No such file or directory"


def test_json_numbers_for_money_stay_exact(client):
    case = mutate("/contract/month_fee", 300.10)
    body = client.post("/v1/evaluations", content=json.dumps(case)).json()
    # 300.10 × 6/31 = 58.0838… → 58.08; a float detour would not change this, but the
    # value is read as Decimal("300.1"), never as a binary float
    assert body["credit"]["lines"][0]["amount"] == "58.08"


def test_huge_body_is_refused(client):
    res = client.post("/v1/evaluations", content=b"[" + b"0," * (3 * 1024 * 1024) + b"0]")
    assert res.status_code == 413 and res.headers["content-type"] == "application/problem+json"
