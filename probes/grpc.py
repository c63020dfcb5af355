"""gRPC: the standard health check (``grpc.health.v1.Health/Check``), as
blackbox_exporter's grpc prober asks it: serving or not, the call's status code,
and the server's certificate when the channel is TLS.

grpcio dials the address this module chose and checked against the address
policy (the name stays the TLS server name). grpcio does not show a client the
peer's certificate, so on a TLS channel the certificate is read by one handshake
of our own first (what blackbox reads from the call's peer)."""
from __future__ import annotations

from typing import Annotated

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import field_validator, model_validator

from probes import series
from probes.net import IpChoice, Port, TlsOptions, close, connect, resolve
from probes.options import IpSection, TlsConfig, refused
from probes.registry import Prober, host_port
from probes.result import ProbeFailure, ProbeResult, Run, guarded

SERVING_STATUSES = tuple(health_pb2.HealthCheckResponse.ServingStatus.keys())  # UNKNOWN, SERVING, …
MAX_MESSAGE = 64 * 1024  # a health answer is a few bytes: a hostile server cannot send megabytes


UNBOUND = "grpcio chooses the local address"


class GrpcTarget(IpChoice):
    source_ip: Annotated[str | None, refused(UNBOUND)] = None
    host: str
    port: Port
    service: str = ""
    tls: TlsOptions | None = None
    metadata: dict[str, list[str]] = {}

    @field_validator("tls")
    @classmethod
    def _verifiable(cls, v: TlsOptions | None) -> TlsOptions | None:
        if v is not None and not v.verify:
            raise ValueError("verify: false is not supported (grpcio's channels always verify)")
        return v


def _credentials(tls: TlsOptions) -> grpc.ChannelCredentials:
    def read(path: str | None) -> bytes | None:
        if path is None:
            return None
        with open(path, "rb") as f:
            return f.read()
    return grpc.ssl_channel_credentials(read(tls.ca_file), read(tls.key_file), read(tls.cert_file))


async def probe(target: GrpcTarget, timeout: float) -> ProbeResult:
    run = Run()

    async def body() -> ProbeResult:
        address = await resolve(run, target.host, target.port, target)
        run.phase("check")
        dial = f"[{address}]:{target.port}" if ":" in address else f"{address}:{target.port}"
        options = [("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.enable_retries", 0),
                   ("grpc.dns_enable_srv_queries", 0)]
        if target.tls is not None:
            _, writer = await connect(run, address, target.port, target.tls.model_copy(
                update={"server_name": target.tls.server_name or target.host}))
            close(writer)
            run.phase("check")
            options.append(("grpc.ssl_target_name_override", target.tls.server_name or target.host))
            channel = grpc.aio.secure_channel(dial, _credentials(target.tls), options)
        else:
            channel = grpc.aio.insecure_channel(dial, options)
        try:
            stub = health_pb2_grpc.HealthStub(channel)
            metadata = [(k.lower(), v) for k, values in target.metadata.items() for v in values]
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=target.service),
                                         timeout=timeout, metadata=metadata or None)
            except grpc.aio.AioRpcError as exc:
                run.detail["_grpc_code"] = exc.code().value[0]
                raise ProbeFailure(f"grpc:{exc.code().name.lower()}", message=(exc.details() or "")[:200]) from None
        finally:
            await channel.close()
        run.detail["_grpc_code"] = 0
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        run.detail["serving_status"] = status
        if status != "SERVING":
            raise ProbeFailure(f"grpc:{status.lower()}")
        return run.ok()

    return await guarded(run, body, timeout)


# ---- blackbox_exporter's grpc module (CONFIGURATION.md <grpc_probe>) ----

class GrpcModule(IpSection):
    source_ip_address: Annotated[str | None, refused(UNBOUND)] = None
    service: str = ""
    tls: bool = False
    tls_config: TlsConfig = TlsConfig()
    metadata: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _verifiable(self):
        if self.tls and self.tls_config.insecure_skip_verify:
            raise ValueError("tls_config.insecure_skip_verify: not supported (grpcio's channels always verify)")
        return self


def _from_module(m: GrpcModule, target: str) -> dict:
    target = target.split("://", 1)[-1]  # blackbox takes http://host:port as well
    host, port = host_port(target)
    return {"host": host, "port": port or (443 if m.tls else 80), "service": m.service,
            "tls": m.tls_config.options() if m.tls else None, "metadata": m.metadata, **m.ip()}


def _series(result: ProbeResult) -> list[series.Series]:
    S, d = series.Series, result.detail
    out = [S("probe_grpc_duration_seconds", "Duration of gRPC request by phase", result.phases.get(p, 0.0),
             {"phase": p}) for p in ("resolve", "check") if p == "resolve" or p in result.phases]
    out += [S("probe_grpc_healthcheck_response", "Response HealthCheck response",
              int(d.get("serving_status") == s), {"serving_status": s}) for s in SERVING_STATUSES]
    tls = series.tls(result)
    out += [S("probe_grpc_ssl", "Indicates if SSL was used for the connection", int(bool(tls))),
            S("probe_grpc_status_code", "Response gRPC status code", d.get("_grpc_code", 0))]
    if not tls:  # registered whatever the channel (blackbox 0.23): zero without TLS
        out.append(S("probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime", 0.0))
    return out + series.address(result) + [s for s in tls if s.name != "probe_ssl_last_chain_expiry_timestamp_seconds"]


PROBER = Prober("grpc", GrpcTarget, probe, (), None, _from_module, GrpcModule, _series)
