"""What can be checked of the deployment on a machine without a container engine:
the Compose file's shape, the Dockerfile's commands (the README's and make's), the
stack's Prometheus config (promtool), and that `pip install .` ships everything."""
import re
import subprocess
import sys
import zipfile

import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them


def test_compose_stack_shape():
    stack = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = stack["services"]
    assert set(services) == {"postgres", "slawatch", "prometheus", "alertmanager", "grafana"}
    assert services["slawatch"]["command"] == ["slawatch", "run"]
    assert "postgresql+asyncpg://" in services["slawatch"]["environment"]["SLAWATCH_DATABASE_URL"]
    assert {"8000:8000"} <= set(services["slawatch"]["ports"])
    for name in ("prometheus", "alertmanager", "grafana"):
        for volume in services[name]["volumes"]:
            src = volume.split(":")[0]
            if src in ("./deploy/scrape-token", "./deploy/noc-webhook-url"):  # the operator's secrets, never committed
                assert src.removeprefix("./") in (ROOT / ".gitignore").read_text()
            elif src.startswith("./"):
                assert (ROOT / src).exists(), volume
    assert set(stack["volumes"]) == {"pgdata", "promdata"}
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        res = subprocess.run(["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                             capture_output=True, text=True, cwd=ROOT)
        assert res.returncode == 0, res.stderr


def test_dockerfile_uses_the_same_commands():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"pip install [^\n]*\.$", text, re.M)
    assert 'CMD ["slawatch", "run"]' in text and "USER slawatch" in text
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "slawatch run" in (ROOT / "Makefile").read_text()


def test_alertmanager_routes_every_alert_to_the_noc():
    am = yaml.safe_load((ROOT / "deploy/alertmanager.yml").read_text())
    names = {r["name"] for r in am["receivers"]}
    assert am["route"]["receiver"] in names and all(r["receiver"] in names for r in am["route"]["routes"])
    assert am["receivers"][0]["webhook_configs"][0]["url_file"].startswith("/etc/alertmanager/")
    prom = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_stack_prometheus_config_passes_promtool(tmp_path):
    (tmp_path / "scrape-token").write_text("slw_test")
    config = (ROOT / "deploy/prometheus.yml").read_text().replace(
        "/etc/prometheus/alerts.yml", str(ROOT / "dashboards/alerts.yml")).replace(
        "/etc/prometheus/scrape-token", str(tmp_path / "scrape-token"))
    (tmp_path / "prometheus.yml").write_text(config)
    res = subprocess.run(["/usr/bin/promtool", "check", "config", str(tmp_path / "prometheus.yml")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_wheel_carries_migrations_modules_and_templates(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("slawatch-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "app/storage/migrations/env.py" in names and "app/storage/migrations/versions/0001_initial_schema.py" in names
    assert "probes/modules.yml" in names and "app/cli.py" in names
    assert "app/reports/templates/statement.html" in names  # the statement page renders from an installed wheel
