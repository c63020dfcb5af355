"""The alerting rules parse with the real promtool, and name metrics slawatch exposes."""
import re
import subprocess

from conftest import ROOT

ALERTS = ROOT / "dashboards" / "alerts.yml"


def test_promtool_checks_the_alert_rules():
    res = subprocess.run(["/usr/bin/promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 5 rules found" in res.stdout + res.stderr


def test_alerts_use_metrics_that_exist():
    used = set(re.findall(r"\bslawatch_[a-z_]+", ALERTS.read_text()))
    exposed = set()
    for path in (ROOT / "app" / "metrics.py").read_text(), :
        exposed |= set(re.findall(r'"(slawatch_[a-z_]+)"', path))
    exposed |= {"slawatch_window_breaches_total"}  # a counter family gains _total in the exposition
    assert used <= exposed, used - exposed
