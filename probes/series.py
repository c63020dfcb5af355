"""blackbox_exporter's series for a probe result, under its names, labels and
values: what every prober shares (the address chosen, TLS) and the text
exposition ``/probe`` answers with. Each protocol module lists its own series
from its result (``Prober.series``); slawatch's extra series keep their own names."""
from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography import x509
from cryptography.x509.oid import NameOID
from prometheus_client.utils import floatToGoString

from probes.result import ProbeResult


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    help: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=4096)
def ip_hash(addr: str) -> float:
    """blackbox's ``probe_ip_addr_hash``: FNV-1a (32 bit) of the address's bytes (4 for IPv4)."""
    h = 0x811C9DC5
    for b in ipaddress.ip_address(addr).packed:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return float(h)


def address(result: ProbeResult) -> list[Series]:
    """Where the target resolved to (blackbox's chooseProtocol): always present, 0 when unresolved."""
    ip = result.detail.get("_ip")
    return [Series("probe_dns_lookup_time_seconds", "Returns the time taken for probe dns lookup in seconds",
                   result.phases.get("resolve", 0.0)),
            Series("probe_ip_addr_hash", "Specifies the hash of IP address. It's useful to detect if the IP "
                   "address changes.", ip_hash(ip) if ip else 0.0),
            Series("probe_ip_protocol", "Specifies whether probe ip protocol is IP4 or IP6",
                   (6.0 if ":" in ip else 4.0) if ip else 0.0)]


# Go's pkix.Name.String() short names; others print as their dotted OID, as Go's do
_SHORT = {NameOID.COUNTRY_NAME: "C", NameOID.ORGANIZATION_NAME: "O", NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
          NameOID.COMMON_NAME: "CN", NameOID.SERIAL_NUMBER: "SERIALNUMBER", NameOID.LOCALITY_NAME: "L",
          NameOID.STATE_OR_PROVINCE_NAME: "ST", NameOID.STREET_ADDRESS: "STREET", NameOID.POSTAL_CODE: "POSTALCODE"}


def go_name(name: x509.Name) -> str:
    return name.rfc4514_string(_SHORT)


TLS_NAMES = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}


def tls(result: ProbeResult) -> list[Series]:
    """The certificate series, present only when TLS was used (as blackbox registers them)."""
    t = result.detail.get("_tls")
    if not t:
        return []
    leaf: x509.Certificate = t["leaf"]
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    info = {"fingerprint_sha256": hashlib.sha256(t["der"]).hexdigest(), "subject": go_name(leaf.subject),
            "issuer": go_name(leaf.issuer), "subjectalternative": ",".join(names)}
    return [Series("probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime",
                   t["sent_not_after"]),
            Series("probe_ssl_last_chain_expiry_timestamp_seconds",
                   "Returns last SSL chain expiry in timestamp", t["chain_not_after"]),
            Series("probe_ssl_last_chain_info", "Contains SSL leaf certificate information", 1.0, info),
            Series("probe_tls_version_info", "Returns the TLS version used or NaN when unknown", 1.0,
                   {"version": TLS_NAMES.get(t["version"], t["version"] or "unknown")})]


def _escape(v: str) -> str:
    return v.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render(series: Iterable[Series]) -> bytes:
    """The text exposition (0.0.4), families sorted by name as Go's client writes them."""
    families: dict[str, list[Series]] = {}
    for s in series:
        families.setdefault(s.name, []).append(s)
    out: list[str] = []
    for name in sorted(families):
        members = families[name]
        out.append(f"# HELP {name} {members[0].help}\n# TYPE {name} gauge\n")
        for s in members:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(s.labels.items()))
            out.append(f"{name}{{{labels}}} {floatToGoString(s.value)}\n" if labels
                       else f"{name} {floatToGoString(s.value)}\n")
    return "".join(out).encode()
