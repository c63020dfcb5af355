"""Start and stop the demo inside ``slawatch run --demo``: services first, then
the example contracts and demo targets, so the first probe finds them up."""
from __future__ import annotations

import asyncio
import logging

from app.demo.mailbox import serve_mailbox
from app.demo.state import SERVICES, demo_of
from app.demo.targets import install_demo
from app.demo.web import serve_web

log = logging.getLogger("slawatch.demo")


async def scrape_token(sessions, path) -> None:
    """The demo's Prometheus token (/metrics and /probe need one), created once and
    kept in the demo folder, readable by its owner only."""
    from app.auth.service import authenticate, create_token

    if path.exists() and await authenticate(sessions, path.read_text().strip()) is not None:
        return
    async with sessions() as db:
        token = await create_token(db, "scrape", name="demo prometheus")
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    log.info("created a scrape token for Prometheus in %s (curl -H \"Authorization: Bearer $(cat %s)\" …/metrics)",
             path, path)


async def signin_links(sessions, public_url: str) -> None:
    """One-time portal links for the demo's customer and for the NOC, printed at start."""
    from app.portal.tokens import create_link, link_url

    async with sessions() as db:
        customer = await create_link(db, "customer", "demo-customer")
        noc = await create_link(db, "noc")
    log.warning("portal sign-in (one-time links, 24 h): customer demo-customer %s ; NOC %s",
                link_url(public_url, customer), link_url(public_url, noc))


class DemoServices:
    def __init__(self, servers: list[asyncio.AbstractServer], close_web):
        self.servers, self._close_web = servers, close_web

    @classmethod
    async def start(cls, settings, sessions, rules, vault) -> DemoServices:
        demo = demo_of(settings)
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line at INFO
        demo.dir.mkdir(parents=True, exist_ok=True)
        servers = await serve_mailbox(demo)
        try:
            web, close_web = await serve_web(demo)
        except BaseException:
            for s in servers:
                s.close()
            raise
        async with sessions() as db:
            targets = await install_demo(db, demo, rules, settings.public_url, vault)
        await scrape_token(sessions, demo.dir / "scrape-token")
        await signin_links(sessions, settings.public_url)
        log.info("demo services on %s: SMTP :%d, IMAP :%d, HTTPS :%d, SMS gateway :%d (folder %s)", demo.host,
                 demo.port("smtp"), demo.port("imap"), demo.port("https"), demo.port("sms"), demo.dir)
        log.info("demo targets, every %.0f s: %s", targets[0].interval,
                 ", ".join(f"{t.id} → {t.contract_id}" for t in targets))
        broken = [s for s in SERVICES if demo.is_broken(s)]
        if broken:
            log.warning("demo services broken from before: %s (slawatch demo restore …)", ", ".join(broken))
        return cls(servers + web, close_web)

    async def close(self) -> None:
        for s in self.servers:
            s.close()
        await self._close_web()
