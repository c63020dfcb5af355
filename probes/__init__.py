"""Protocol probes: one module per protocol, one signature for all —
``async def probe(target, timeout) -> ProbeResult`` — gathered in one explicit
registry that configuration loading checks against.

This package never imports ``app``: it is the first step of the data path
(probe -> result -> incident -> window -> credit)."""
from probes import dns, http, icmp, imap, mail_roundtrip, pop3, sms, smtp, tcp, tls
from probes.result import ProbeResult

PROBES = {
    "icmp": icmp.probe,
    "tcp": tcp.probe,
    "http": http.probe,
    "tls": tls.probe,
    "dns": dns.probe,
    "smtp": smtp.probe,
    "imap": imap.probe,
    "pop3": pop3.probe,
    "mail_roundtrip": mail_roundtrip.probe,
    "sms": sms.probe,
}

TARGETS = {
    "icmp": icmp.IcmpTarget,
    "tcp": tcp.TcpTarget,
    "http": http.HttpTarget,
    "tls": tls.TlsTarget,
    "dns": dns.DnsTarget,
    "smtp": smtp.SmtpTarget,
    "imap": imap.ImapTarget,
    "pop3": pop3.Pop3Target,
    "mail_roundtrip": mail_roundtrip.MailRoundtripTarget,
    "sms": sms.SmsTarget,
}

__all__ = ["PROBES", "TARGETS", "ProbeResult"]
