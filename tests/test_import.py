"""``slawatch import kuma|blackbox`` (issue 19): another tool's checks become targets
with the same interval and retries, each skipped one says why, a second import
changes nothing, ``--dry-run`` writes nothing, and bad input is a clear exit 2.
Kuma's database is built from its own schema (tests/fixtures/kuma_schema.sql);
the Prometheus and blackbox files are shaped as blackbox_exporter's README shows."""
import os
import sqlite3
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, service_client

FIXTURES = ROOT / "tests/fixtures"
CLI = [sys.executable, "-m", "app.cli"]

MONITORS = [  # (id, name, type, url, hostname, port, interval, maxretries, extra columns)
    (1, "Mail web", "http", "https://mail.example.com/", None, None, 60, 2, {}),
    (2, "Login page", "keyword", "http://127.0.0.1:8080/login", None, None, 30, 0,
     {"keyword": "Sign in (SSO)", "accepted_statuscodes_json": '["200-202", "301"]'}),
    (3, "Colo SSH", "port", None, "127.0.0.1", 22, 120, 4, {"timeout": 10}),
    (4, "Gateway", "ping", None, "127.0.0.1", None, 60, 1, {"active": 0}),
    (5, "MX", "dns", None, "example.com", None, 300, 0, {"dns_resolve_type": "MX",
                                                         "dns_resolve_server": "127.0.0.1"}),
    (6, "Relay", "smtp", None, "127.0.0.1", 587, 60, 0, {"smtp_security": "starttls"}),
    (7, "Cron", "push", None, None, None, 60, 0, {}),
    (8, "Inverted", "http", "http://127.0.0.1:8081/", None, None, 60, 0, {"upside_down": 1}),
    (9, "Other customer", "port", None, "127.0.0.1", 443, 60, 0, {}),
    (10, "Broken", "port", None, "127.0.0.1", 70000, 60, 0, {}),
]


def kuma_db(path):
    db = sqlite3.connect(path)
    db.executescript((FIXTURES / "kuma_schema.sql").read_text())
    for mid, name, kind, url, host, port, interval, retries, extra in MONITORS:
        cols = {"id": mid, "name": name, "type": kind, "url": url, "hostname": host, "port": port,
                "interval": interval, "maxretries": retries, **extra}
        db.execute(f"INSERT INTO monitor ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                   list(cols.values()))
    db.execute("INSERT INTO tag (id, name, color) VALUES (1, 'slawatch_contract', '#000')")
    db.execute("INSERT INTO monitor_tag (monitor_id, tag_id, value) VALUES (9, 1, 'c-mail')")
    db.commit()
    db.close()


@pytest.fixture
def world(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/i.db"
    client, _ = service_client(url)
    with client:
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        for cid, example in (("c-colo", "ningbo-colo"), ("c-mail", "xiamen-mail")):
            body = yaml.safe_load((ROOT / f"sla_rules/contracts/examples/{example}.yaml").read_text())
            body.update(id=cid, customer="acme")
            assert client.post("/v1/contracts", json=body).status_code == 201
    env = {**os.environ, "SLAWATCH_DATABASE_URL": url}

    def run(*args):
        return subprocess.run([*CLI, "import", *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60)

    def targets():
        c, _ = service_client(url)
        with c:
            return {t["id"]: t for t in c.get("/v1/targets", params={"limit": 500}).json()["items"]}
    return run, targets, url


def test_kuma_monitors_become_targets_and_the_rest_say_why(world, tmp_path):
    run, targets, _ = world
    kuma_db(tmp_path / "kuma.db")
    dry = run("kuma", tmp_path / "kuma.db", "--contract", "c-colo", "--dry-run")
    assert dry.returncode == 0 and "would create 7 targets" in dry.stdout, dry.stdout + dry.stderr
    assert targets() == {}
    res = run("kuma", tmp_path / "kuma.db", "--contract", "c-colo")
    assert res.returncode == 0, res.stderr
    got = targets()
    assert set(got) == {"kuma-1-Mail-web", "kuma-2-Login-page", "kuma-3-Colo-SSH", "kuma-4-Gateway", "kuma-5-MX",
                        "kuma-6-Relay", "kuma-9-Other-customer"}
    web, login, ssh = got["kuma-1-Mail-web"], got["kuma-2-Login-page"], got["kuma-3-Colo-SSH"]
    assert (web["protocol"], web["config"]["url"], web["interval"], web["failures_to_open"]) == \
        ("http", "https://mail.example.com/", 60, 3)  # Kuma: down after 2 retries fail = 3 failures
    assert web["config"]["valid_status"] == [] and web["timeout"] == 48  # Kuma's default: 80 % of the interval
    assert login["config"]["body_regex"] == r"Sign\ in\ \(SSO\)"
    assert login["config"]["valid_status"] == [200, 201, 202, 301]
    assert (ssh["protocol"], ssh["config"]["port"], ssh["timeout"], ssh["failures_to_open"]) == ("tcp", 22, 10, 5)
    assert got["kuma-4-Gateway"]["enabled"] is False  # paused in Kuma
    assert got["kuma-5-MX"]["config"].items() >= {"server": "127.0.0.1", "name": "example.com", "type": "MX"}.items()
    assert got["kuma-6-Relay"]["config"]["security"] == "starttls"
    assert got["kuma-6-Relay"]["category"] == "mail_send_receive" and web["category"] == "service_unavailable"
    assert got["kuma-9-Other-customer"]["contract_id"] == "c-mail"  # its slawatch_contract tag
    skipped = res.stdout.split("skipped", 1)[1]
    assert "monitor 7 Cron: type 'push' has no slawatch probe" in skipped
    assert "monitor 8 Inverted: upside-down mode" in skipped
    assert "kuma-10-Broken (tcp): config.port:" in skipped
    again = run("kuma", tmp_path / "kuma.db", "--contract", "c-colo")
    assert "created 0 targets" in again.stdout and "exists (left as it is)" in again.stdout
    assert set(targets()) == set(got)


def test_without_a_contract_each_monitor_says_so(world, tmp_path):
    run, targets, _ = world
    kuma_db(tmp_path / "kuma.db")
    res = run("kuma", tmp_path / "kuma.db")
    assert res.returncode == 0 and set(targets()) == {"kuma-9-Other-customer"}
    assert "monitor 1 Mail web: no contract: tag it slawatch_contract or pass --contract" in res.stdout


def test_blackbox_jobs_become_targets_of_their_modules(world):
    run, targets, _ = world
    res = run("blackbox", FIXTURES / "blackbox/prometheus.yml", FIXTURES / "blackbox/blackbox.yml",
              "--contract", "c-mail")
    assert res.returncode == 0, res.stderr
    got = targets()
    assert set(got) == {"bb-blackbox-http-mail.example.com-login", "bb-blackbox-http-127.0.0.1-8080-health",
                        "bb-blackbox-smtp-127.0.0.1-25", "bb-blackbox-ping-127.0.0.1", "bb-blackbox-dns-127.0.0.1-53",
                        "bb-blackbox-grpc-127.0.0.1-50051"}
    web = got["bb-blackbox-http-mail.example.com-login"]
    assert web["contract_id"] == "c-colo"  # the static group's slawatch_contract label
    assert [web["config"][k] for k in ("url", "valid_status", "fail_if_body_not_matches", "ip_protocol")] == \
        ["https://mail.example.com/login", [200, 204], ["ok"], "ip6"]  # blackbox's default: IPv6 first
    assert (web["interval"], web["timeout"]) == (30, 5)  # global scrape_interval, the module's timeout
    smtp = got["bb-blackbox-smtp-127.0.0.1-25"]
    assert (smtp["protocol"], [(q["expect"], q["send"]) for q in smtp["config"]["query_response"]], smtp["interval"],
            smtp["timeout"], smtp["contract_id"]) == ("tcp", [("^220 ", None), (None, "QUIT")], 60, 10, "c-mail")
    dns = got["bb-blackbox-dns-127.0.0.1-53"]["config"]
    assert (dns["server"], dns["port"], dns["name"], dns["type"]) == ("127.0.0.1", 53, "example.com", "MX")
    assert got["bb-blackbox-grpc-127.0.0.1-50051"]["protocol"] == "grpc"
    assert "job blackbox-files: its targets come from file_sd_configs: only static_configs are read" in res.stdout
    assert "prometheus" not in res.stdout.split("skipped", 1)[1]  # not a probe job: not even listed


@pytest.mark.parametrize("args, words", [
    (["kuma", "nowhere.db"], "nowhere.db: no such file"),
    (["kuma", "tests/fixtures/kuma_schema.sql"], "not an Uptime Kuma database"),
    (["blackbox", "tests/fixtures/blackbox/blackbox.yml", "nowhere.yml"], "nowhere.yml"),
    (["blackbox", "tests/fixtures/kuma_schema.sql", "tests/fixtures/blackbox/blackbox.yml"],
     "kuma_schema.sql:1: expected a mapping at the top"),
    (["blackbox", "{tmp}/bad.yml", "tests/fixtures/blackbox/blackbox.yml"], "bad.yml:2: invalid YAML"),
    (["blackbox", "{tmp}/shape.yml", "tests/fixtures/blackbox/blackbox.yml"],
     "shape.yml:1: scrape_configs[0]: expected an object"),
    (["blackbox", "tests/fixtures/blackbox/prometheus.yml", "{tmp}/codes.yml"],
     "codes.yml:4: modules.http_2xx.http.valid_status_codes[0]: "),
    (["blackbox", "{tmp}/slow.yml", "tests/fixtures/blackbox/blackbox.yml"],
     "slow.yml: job blackbox-http: scrape_interval or module http_2xx timeout: '30 seconds' is not a duration"),
])
def test_bad_input_is_exit_2_naming_the_file(world, tmp_path, args, words):
    run, targets, _ = world
    (tmp_path / "bad.yml").write_text("scrape_configs: [job_name: x\n")
    (tmp_path / "shape.yml").write_text('scrape_configs: ["x"]\n')
    (tmp_path / "codes.yml").write_text("modules:\n  http_2xx:\n    prober: http\n    http: {valid_status_codes: [2xx]}\n")
    prom = yaml.safe_load((FIXTURES / "blackbox/prometheus.yml").read_text())
    prom["scrape_configs"][1]["scrape_interval"] = "30 seconds"
    (tmp_path / "slow.yml").write_text(yaml.safe_dump(prom))
    res = run(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert res.returncode == 2 and words in res.stderr, (res.returncode, res.stdout, res.stderr)
    assert targets() == {}


def test_an_embedded_worker_takes_up_targets_another_process_wrote_and_drops_deleted_ones(tmp_path):
    """``slawatch import`` writes while ``slawatch run`` probes (SQLite, no leases): the
    worker's rescan adds the new targets and removes the deleted, reading whole rows only for new ones."""
    import asyncio

    from sqlmodel import delete

    from app.probing.worker import Worker
    from app.storage.db import make_engine, sessions, upgrade
    from app.storage.tables import TargetRow
    from tests.peers.seed import seed_tcp_targets

    url = f"sqlite+aiosqlite:///{tmp_path}/w.db"
    upgrade(make_engine(url))

    async def go():
        engine = make_engine(url)
        try:
            w = Worker(sessions(engine), data_dir=tmp_path / "data")
            await w.rescan()
            before = set(w.targets)
            await seed_tcp_targets(sessions(engine), ["a", "b"], 9, interval=60, timeout=5)
            await w.rescan()
            added = set(w.targets)
            async with sessions(engine)() as db:
                await db.exec(delete(TargetRow).where(TargetRow.id == "a"))
                await db.commit()
            await w.rescan()
            return before, added, set(w.targets), sorted(w.scheduler.jobs)
        finally:
            await engine.dispose()
    before, added, after, jobs = asyncio.run(go())
    assert (before, added, after) == (set(), {"a", "b"}, {"b"})
    assert jobs == ["b/default"]


def test_a_target_can_name_a_probe_module_as_prometheus_does(world):
    """``{"module": "http_2xx", "target": …}``: the modules file's prober, options and
    timeout, as ``/probe?module=…&target=…`` would probe it."""
    _, targets, url = world
    body = {"id": "web", "contract_id": "c-colo", "module": "http_2xx", "target": "127.0.0.1:9/health",
            "category": "server_fault"}
    c, _ = service_client(url)
    with c:
        made = c.post("/v1/targets", json=body)
        assert made.status_code == 201, made.text
        t = made.json()
        assert (t["protocol"], t["config"]["url"], t["timeout"]) == ("http", "http://127.0.0.1:9/health", 5)
        bad = c.post("/v1/targets", json={**body, "id": "web2", "module": "ftp_check"})
        assert bad.status_code == 422 and "unknown module 'ftp_check'" in bad.text
        both = c.post("/v1/targets", json={**body, "id": "web3", "protocol": "tcp", "config": {}})
        assert both.status_code == 422 and "give protocol and config, or module and target" in both.text
        bad_target = c.post("/v1/targets", json={**body, "id": "web4", "module": "tcp_connect", "target": "127.0.0.1"})
        assert bad_target.status_code == 422 and "port" in bad_target.text
    assert set(targets()) == {"web"}
