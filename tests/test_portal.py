"""The portal's rules without a browser: who may make sign-in links and what a bad
request answers, links used once and expiring, the sign-in form's CSRF, cookies
(Secure on https), feeds replaced and unknown, pages without a session, another
customer's contract, and /docs and /redoc served from packaged files."""
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from conftest import ROOT, service_client
from sqlalchemy import text

CLI = [sys.executable, "-m", "app.cli"]


def setup(tmp_path, **settings):
    client, make_token = service_client(f"sqlite+aiosqlite:///{tmp_path}/p.db", **settings)
    client.__enter__()
    for cid in ("acme", "other"):
        client.post("/v1/customers", json={"id": cid, "name": cid.title()})
    for name, cid in (("xiamen-mail", "acme"), ("ningbo-colo", "other")):
        body = yaml.safe_load((ROOT / f"sla_rules/contracts/examples/{name}.yaml").read_text())
        body["customer"] = cid
        assert client.post("/v1/contracts", json=body).status_code == 201
    return client, make_token


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def sign_in(client, **body) -> None:
    url = client.post("/v1/portal/links", json=body).json()["url"]
    assert client.post(path_of(url), follow_redirects=False).status_code == 303


def test_links_are_made_by_staff_only_and_bad_requests_name_the_field(tmp_path):
    client, make_token = setup(tmp_path)
    with client:
        customer = {"Authorization": f"Bearer {make_token('customer', 'acme')}"}
        noc = {"Authorization": f"Bearer {make_token('noc')}"}
        assert client.post("/v1/portal/links", json={"customer_id": "acme"}, headers=customer).status_code == 403
        r = client.post("/v1/portal/links", json={"customer_id": "nobody"})
        assert r.status_code == 422 and "customer_id: unknown customer 'nobody'" in r.json()["detail"]
        r = client.post("/v1/portal/links", json={})
        assert r.status_code == 422 and "customer_id" in r.json()["detail"]
        r = client.post("/v1/portal/links", json={"role": "noc", "customer_id": "acme"})
        assert r.status_code == 422 and "only a customer link takes one" in r.json()["detail"]
        r = client.post("/v1/portal/links", json={"customer_id": "acme", "expires_in_seconds": 10 * 86400})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/expires_in_seconds"
        assert client.post("/v1/portal/links", json={"role": "admin"}, headers=noc).status_code == 403
        made = client.post("/v1/portal/links", json={"role": "noc"}, headers=noc)
        assert made.status_code == 201 and made.json()["url"].startswith("http://127.0.0.1:8000/portal/link/")


def test_a_link_signs_in_once_and_not_after_it_expires(tmp_path):
    client, _ = setup(tmp_path)
    with client:
        url = path_of(client.post("/v1/portal/links", json={"customer_id": "acme"}).json()["url"])
        admin = client.headers.pop("Authorization")
        assert client.get(url).status_code == 200  # looking at it does not use it
        first = client.post(url, follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/portal/"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # http here
        assert client.post(url, follow_redirects=False).status_code == 410  # once
        home = client.get("/portal/")
        assert home.status_code == 200 and "demo-xiamen-mail" in home.text and "demo-ningbo-colo" not in home.text
        assert client.get("/portal/contracts/demo-ningbo-colo").status_code == 404  # another customer's
        assert "text/html" in client.get("/portal/contracts/demo-ningbo-colo").headers["content-type"]
        csp = home.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        # an expired link: refused
        client.headers["Authorization"] = admin
        late = path_of(client.post("/v1/portal/links", json={"customer_id": "acme"}).json()["url"])
        _sql(client, "UPDATE portal_tokens SET expires_at = :t WHERE kind = 'link' AND used_at IS NULL",
             t=datetime.now(timezone.utc) - timedelta(seconds=1))
        client.cookies.clear()
        assert client.post(late, follow_redirects=False).status_code == 410


def _sql(client, statement: str, **params) -> None:
    async def go():
        async with client.app.state.sessions() as s:
            await s.exec(text(statement).bindparams(**params))
            await s.commit()
    client.portal.call(go)


def test_the_token_form_needs_its_csrf_value_and_a_persons_token(tmp_path):
    client, make_token = setup(tmp_path)
    with client:
        client.headers.pop("Authorization")
        page = client.get("/")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        token = make_token("customer", "acme")
        assert client.post("/portal/signin", data={"token": token, "csrf": "forged"}).status_code == 403
        scrape = client.post("/portal/signin", data={"token": make_token("scrape"), "csrf": csrf})
        assert scrape.status_code == 401 and "scrape or intake token cannot" in scrape.text
        ok = client.post("/portal/signin", data={"token": token, "csrf": csrf}, follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == "/portal/"
        assert client.get("/portal/").status_code == 200
        session_csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/portal/").text).group(1)
        out = client.post("/portal/signout", data={"csrf": session_csrf}, follow_redirects=False)
        assert out.status_code == 303
        gone = client.get("/portal/", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"] == "/"
        assert client.get("/portal/noc/board.json").status_code == 401


def test_cookies_are_secure_when_the_public_url_is_https(tmp_path):
    client, _ = setup(tmp_path, public_url="https://sla.example.test")
    with client:
        url = path_of(client.post("/v1/portal/links", json={"customer_id": "acme"}).json()["url"])
        r = client.post(url, follow_redirects=False)
        assert "Secure" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]


def test_a_new_feed_url_replaces_the_old_and_an_unknown_one_is_404(tmp_path):
    client, _ = setup(tmp_path)
    with client:
        started = datetime(2026, 11, 3, 1, 0, tzinfo=timezone.utc)
        client.post("/v1/incidents", json={"contract_id": "demo-xiamen-mail", "category": "mail_send_receive",
                                           "started_at": started.isoformat()})
        assert client.post("/v1/maintenance", json={
            "id": "m-sun", "customer_id": "acme", "starts_at": "2026-12-06T02:00:00+08:00",
            "ends_at": "2026-12-06T03:00:00+08:00", "rrule": "FREQ=WEEKLY;BYDAY=SU",
            "announced_at": "2026-12-01T09:00:00+08:00", "note": "存储扩容"}).status_code == 201
        sign_in(client, customer_id="acme")
        client.headers.pop("Authorization")
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/portal/").text).group(1)
        feeds = []
        for _ in range(2):
            page = client.post("/portal/feed", data={"csrf": csrf}).text
            feeds.append(path_of(re.search(r'id="feed-atom">([^<]+)<', page).group(1)))
        old, new = feeds
        assert client.get(old).status_code == 404
        atom = client.get(new)
        assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
        assert "<entry>" in atom.text and "Mail send/receive failure" in atom.text
        ics = client.get(new.replace("atom.xml", "calendar.ics"))
        assert ics.status_code == 200 and "BEGIN:VEVENT" in ics.text and "DTSTART:20261103T010000Z" in ics.text
        # their planned maintenance too, the weekly rule in their own zone
        assert "DTSTART;TZID=Asia/Shanghai:20261206T020000" in ics.text and "RRULE:FREQ=WEEKLY;BYDAY=SU" in ics.text
        assert "存储扩容" in ics.text
        assert client.get("/portal/feeds/nonsense/atom.xml").status_code == 404


def test_api_docs_are_served_from_packaged_files(tmp_path):
    client, _ = setup(tmp_path)
    with client:
        for page, asset in (("/docs", "/docs-static/swagger-ui-bundle.js"), ("/redoc", "/docs-static/redoc.standalone.js")):
            html = client.get(page).text
            assert asset in html and "cdn" not in html.lower()  # nothing from a CDN
            js = client.get(asset)
            assert js.status_code == 200 and len(js.content) > 100_000


@pytest.mark.peers
def test_the_cli_prints_a_link_that_signs_in(tmp_path):
    client, _ = setup(tmp_path)  # the database the CLI writes to: customers acme and other
    client.__exit__(None, None, None)
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/p.db"}
    bad = subprocess.run([*CLI, "portal", "link", "--customer", "nobody"], cwd=ROOT, env=env, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "--customer: unknown customer 'nobody'" in bad.stderr
    neither = subprocess.run([*CLI, "portal", "link"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert neither.returncode == 2 and "give --customer ID" in neither.stderr
    out = subprocess.run([*CLI, "portal", "link", "--customer", "acme"], cwd=ROOT, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/portal/link/[A-Za-z0-9_-]{43}", url)
    client, _ = service_client(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    with client:
        client.headers.pop("Authorization")
        assert client.post(path_of(url), follow_redirects=False).status_code == 303


def test_sessions_and_links_expire_from_the_table(tmp_path):
    from app.portal.tokens import purge_expired

    client, _ = setup(tmp_path)
    with client:
        client.post("/v1/portal/links", json={"customer_id": "acme"})
        _sql(client, "UPDATE portal_tokens SET expires_at = :t", t=datetime.now(timezone.utc) - timedelta(seconds=1))

        async def purge():
            async with client.app.state.sessions() as s:
                return await purge_expired(s)
        assert client.portal.call(purge) == 1  # the link made above, expired
        assert client.portal.call(purge) == 0
