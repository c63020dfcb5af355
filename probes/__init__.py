"""Protocol probes: one module per protocol, one signature for all —
``async def probe(target, timeout) -> ProbeResult`` — each declaring one
``PROBER`` (``probes.registry``: target model, probe, URL schemes, module
options), gathered in one explicit registry that configuration loading checks
against.

This package never imports ``app``: it is the first step of the data path
(probe -> result -> incident -> window -> credit)."""
from probes import dns, grpc, http, icmp, imap, mail_roundtrip, pop3, sms, smtp, tcp, tls, unix, websocket
from probes.registry import Prober
from probes.result import ProbeResult

PROBERS: dict[str, Prober] = {p.name: p for p in (
    icmp.PROBER, tcp.PROBER, http.PROBER, tls.PROBER, dns.PROBER, grpc.PROBER, smtp.PROBER, imap.PROBER,
    pop3.PROBER, unix.PROBER, websocket.PROBER, mail_roundtrip.PROBER, sms.PROBER)}
# views of the one registry, for the scheduler and the target APIs
PROBES = {name: p.probe for name, p in PROBERS.items()}
TARGETS = {name: p.target for name, p in PROBERS.items()}

__all__ = ["PROBERS", "PROBES", "TARGETS", "ProbeResult", "Prober"]
