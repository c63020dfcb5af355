"""The option blocks blackbox_exporter's modules share (its CONFIGURATION.md):
``tls_config``, the IP protocol choice, regular expressions, and the marker for an
option slawatch refuses. Defaults are blackbox_exporter's own; a module file
written for it means the same here.

Each protocol module (``probes/http.py`` …) declares its own section model from
these and turns a validated section plus a scrape's ``target`` into its target."""
from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, field_validator, model_validator


class Section(BaseModel):
    """Strict, as blackbox's own decoder is (``KnownFields``): a misspelt option is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# RE2 (Go's regexp) has no look-around and no back-references: blackbox refuses them at load
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]")


def go_regex(v: str) -> str:
    """A Go (RE2) regular expression as Python's ``re`` reads it the same way:
    RE2 lets an anchor be repeated (``^+OK`` is ``(?:^)+OK``) and spells the very end ``\\z``."""
    v = re.sub(r"(?<!\\)([$^])([+*?]|\{\d)", r"(?:\1)\2", v)
    return re.sub(r"(?<!\\)\\z", r"\\Z", v)


def _regex(v: str) -> str:
    try:
        if _NOT_RE2.search(v):
            raise re.error("not RE2")
        return re.compile(go_regex(v)).pattern
    except re.error:
        raise ValueError(f'"Could not compile regular expression" regexp="{v}"') from None  # blackbox's words


Regex = Annotated[str, AfterValidator(_regex)]


def _readable(v: str) -> str:
    """A file a module names is there and readable when the module is loaded (blackbox
    would find out at every probe; a modules file naming a missing one is half-configured)."""
    try:
        with open(v, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise ValueError(f"cannot read {v}: {exc.strerror}") from None
    return v


File = Annotated[str, AfterValidator(_readable)]


def _cel(v: str) -> str:
    from probes.cel import program
    program(v)  # ValueError in blackbox's words
    return v


Cel = Annotated[str, AfterValidator(_cel)]


def refused(reason: str, allowed: Any = None):
    """An option slawatch does not implement: accepted only at its blackbox default
    (``allowed``), otherwise the load stops naming it and why."""

    def check(v):
        if v not in (None, allowed) and v != {} and v != []:
            raise ValueError(f"not supported ({reason})")
        return v

    return AfterValidator(check)


_UNITS = {"": 0, "B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5, "EB": 6,
          "KIB": 1, "MIB": 2, "GIB": 3, "TIB": 4, "PIB": 5, "EIB": 6}


def _bytes(v: Any) -> int:
    """blackbox's ``<size>`` (Go units.Base2Bytes): ``1MB`` is 1024², as ``1MiB``; a bare number is bytes."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    m = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", str(v))
    if not m or m[2].upper() not in _UNITS:
        raise ValueError(f"{v!r} is not a size (like 512KB or 10MB)")
    return int(m[1]) * 1024 ** _UNITS[m[2].upper()]


Size = Annotated[int, BeforeValidator(_bytes)]


class TlsConfig(Section):
    """blackbox's (Prometheus's) ``tls_config``."""
    insecure_skip_verify: bool = False
    ca_file: File | None = None
    cert_file: File | None = None
    key_file: File | None = None
    server_name: str | None = None
    min_version: Literal["TLS10", "TLS11", "TLS12", "TLS13"] | None = None
    max_version: Literal["TLS10", "TLS11", "TLS12", "TLS13"] | None = None
    # Prometheus's own keys for in-line PEM: slawatch reads certificates from files only
    ca: Annotated[str | None, refused("in-line PEM; use ca_file")] = None
    cert: Annotated[str | None, refused("in-line PEM; use cert_file")] = None
    key: Annotated[str | None, refused("in-line PEM; use key_file")] = None

    @model_validator(mode="after")
    def _pairs(self):  # Prometheus's TLSConfig.Validate, its words
        if self.cert_file and not self.key_file:
            raise ValueError("exactly one of key or key_file must be configured when a client certificate is "
                             "configured")
        if self.key_file and not self.cert_file:
            raise ValueError("exactly one of cert or cert_file must be configured when a client key is configured")
        order = ["TLS10", "TLS11", "TLS12", "TLS13"]
        if self.min_version and self.max_version and order.index(self.max_version) < order.index(self.min_version):
            raise ValueError("tls_config.max_version must be greater than or equal to tls_config.min_version if "
                             "both are specified")
        return self

    def options(self, server_name: str | None = None) -> dict:
        """The probe's ``TlsOptions`` fields."""
        out = {"verify": not self.insecure_skip_verify, "ca_file": self.ca_file, "cert_file": self.cert_file,
               "key_file": self.key_file, "server_name": self.server_name or server_name,
               "min_version": self.min_version, "max_version": self.max_version}
        return {k: v for k, v in out.items() if v is not None}


class IpSection(Section):
    """How a name is resolved (CONFIGURATION.md, "Address selection"): one address, of
    ``preferred_ip_protocol``'s family where there is one, else (``ip_protocol_fallback``) the other."""
    preferred_ip_protocol: Literal["ip4", "ip6"] = "ip6"
    ip_protocol_fallback: bool = True
    source_ip_address: str | None = None

    @field_validator("source_ip_address")
    @classmethod
    def _source(cls, v: str | None) -> str | None:
        try:
            return v if v is None else str(ipaddress.ip_address(v))
        except ValueError:
            raise ValueError(f"{v!r} is not an IP address") from None

    def ip(self) -> dict:
        out = {"ip_protocol": self.preferred_ip_protocol, "ip_fallback": self.ip_protocol_fallback}
        return out | ({"source_ip": self.source_ip_address} if self.source_ip_address else {})

