"""The customer statement rendered by a real headless Chromium (Debian's): the
page loads, a screenshot is taken, and the key figures are on the rendered page;
``?format=pdf`` is a real PDF (WeasyPrint) whose text (pdftotext) has every
column, every credit line's amount and arithmetic, the parties and page numbers."""
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from conftest import ROOT, service_client

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

CHROMIUM = ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_statement_in_a_real_browser_and_as_pdf(tmp_path):
    client, make_token = service_client(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    with client:
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/xiamen-mail.yaml").read_text())
        body["customer"] = "acme"
        body["title"] = '<script>alert("x")</script> 企业邮局'  # the statement escapes what a contract says
        assert client.post("/v1/contracts", json=body).status_code == 201
        started = datetime(2026, 11, 3, 1, 0, tzinfo=timezone.utc)
        inc = client.post("/v1/incidents", json={"contract_id": body["id"], "category": "mail_send_receive",
                                                 "started_at": started.isoformat()}).json()
        client.post(f"/v1/incidents/{inc['id']}/classify", json={"attribution": "provider"})
        client.post(f"/v1/incidents/{inc['id']}/resolve", json={"at": (started + timedelta(hours=30)).isoformat()})
        customer = {"Authorization": f"Bearer {make_token('customer', 'acme')}"}
        report = client.get(f"/v1/contracts/{body['id']}/credits", params={"period": "2026-11"}).json()
        page = client.get(f"/v1/contracts/{body['id']}/statement", params={"period": "2026-11"}, headers=customer)
        pdf = client.get(f"/v1/contracts/{body['id']}/statement", params={"period": "2026-11", "format": "pdf"},
                         headers=customer)
    assert report["credit"]["amount"] == "20.00"  # 300 × 2/30: 11-03 and 11-04 affected
    assert "<script>" not in page.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 企业邮局" in page.text
    html = tmp_path / "statement.html"
    html.write_text(page.text, encoding="utf-8")
    shot = tmp_path / "statement.png"
    subprocess.run([*CHROMIUM, f"--user-data-dir={tmp_path}/profile", f"--screenshot={shot}",
                    "--window-size=1000,1400", html.as_uri()], check=True, capture_output=True, timeout=120)
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = subprocess.run([*CHROMIUM, f"--user-data-dir={tmp_path}/profile2", "--dump-dom", html.as_uri()],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    assert "¥20.00" in dom and report["outage"]["availability_percent"] in dom
    assert "handle_24h" in dom and "breached" in dom and "<svg" in dom and "违约 4" in dom
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content[:5] == b"%PDF-" and len(pdf.content) > 5_000
    (tmp_path / "statement.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "statement.pdf"), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    flat = " ".join(text.split())
    for header in ("Incident", "Window", "Clause", "Deadline", "Outcome", "Overdue", "Rule", "Arithmetic", "Amount"):
        assert header in flat, header  # every column on the page, none cut off
    for line in report["credit"]["lines"]:  # each line's amount and its arithmetic, spelled out
        assert f"¥{line['amount']}" in flat
    assert "2 affected days × ¥300.00 ÷ 30 = ¥20.00" in flat
    assert "厦门凌众科技有限公司" in flat and "Acme" in flat and "2026-11" in flat  # provider, customer, period
    pages = int(next(x.split()[1] for x in subprocess.run(["pdfinfo", str(tmp_path / "statement.pdf")],
                     check=True, capture_output=True, text=True).stdout.splitlines() if x.startswith("Pages:")))
    assert pages == 1 and "Page 1 of 1" in flat  # numbered, and no empty trailing page
