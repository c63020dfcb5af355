"""Which addresses a probe may reach: a policy set per call (a ``ContextVar``),
checked where ``probes.net.resolve`` has the address it will connect to — so a
name, a redirect or a rebinding answer cannot slip past it. Probes scheduled
for stored targets run without one; ``GET /probe``, where the target comes from
the request, runs with the operator's (``SLAWATCH_PROBE_ALLOW``)."""
from __future__ import annotations

import ipaddress
from contextvars import ContextVar

from probes.result import ProbeFailure

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
# link-local (169.254.169.254 is the metadata service of most clouds), Alibaba
# Cloud's metadata address, AWS's IPv6 metadata address
DEFAULT_DENY = tuple(ipaddress.ip_network(n) for n in
                     ("169.254.0.0/16", "fe80::/10", "100.100.100.200/32", "fd00:ec2::254/128"))


class AddressPolicy:
    """With an allow list: only its networks and host names. Without: everything
    but link-local and cloud-metadata addresses (as blackbox_exporter reaches
    everything, less what no monitoring target ever is)."""

    def __init__(self, allow: list[str] | None = None):
        self.allow_nets: tuple[Net, ...] = ()
        self.allow_names: frozenset[str] = frozenset()
        self.allow_paths = frozenset(item for item in allow or () if item.startswith("/"))
        if allow:
            nets, names = [], []
            for item in allow:
                if item.startswith("/"):
                    continue
                try:
                    nets.append(ipaddress.ip_network(item, strict=False))
                except ValueError:
                    names.append(item.lower().rstrip("."))
            self.allow_nets, self.allow_names = tuple(nets), frozenset(names)
        self.restricted = bool(self.allow_nets or self.allow_names)  # (socket paths alone restrict no address)
        self.seen: dict[tuple[str, str | None], bool] = {}  # the same targets come back every scrape

    def permits(self, address: str, name: str | None = None) -> bool:
        key = (address, name)
        hit = self.seen.get(key)
        if hit is None:
            if len(self.seen) >= 65536:
                self.seen.clear()
            hit = self.seen[key] = self._permits(address, name)
        return hit

    def _permits(self, address: str, name: str | None) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
        if self.restricted:
            return (name is not None and name.lower().rstrip(".") in self.allow_names) or \
                any(ip in n for n in self.allow_nets)
        return not any(ip in n for n in DEFAULT_DENY)


def check_path(path: str) -> None:
    """A unix socket: under a policy (``GET /probe``, the path from the request) only one
    the allow list names (``SLAWATCH_PROBE_ALLOW=/run/app.sock``); none by default —
    a local socket (docker's, the database's) is no monitoring target of a stranger's."""
    policy = POLICY.get()
    if policy is not None and path not in policy.allow_paths:
        raise ProbeFailure("denied:path")


POLICY: ContextVar[AddressPolicy | None] = ContextVar("probe_address_policy", default=None)


def check(address: str, name: str | None = None) -> None:
    """Refuse an address the current policy does not permit (``denied:address``)."""
    policy = POLICY.get()
    if policy is not None and not policy.permits(address, name):
        raise ProbeFailure("denied:address")
