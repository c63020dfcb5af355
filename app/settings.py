"""Settings, validated at start: only ``SLAWATCH_*`` environment variables."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.calendars.durations import parse_span

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "sla_rules"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLAWATCH_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    rules_dir: Path = DEFAULT_RULES
    log_level: str = "info"
    database_url: str = "sqlite+aiosqlite:///./slawatch.db"
    database_schema: str | None = None  # PostgreSQL: the schema to use (search_path)
    metrics_refresh_seconds: float = Field(15.0, gt=0)
    public_url: str = "http://127.0.0.1:8000"  # links in tickets
    ticket_interval_seconds: float = Field(5.0, gt=0)
    # raw probe results kept this long, then rolled up per minute (basis: policy: longer than any statement month)
    results_retention: timedelta = Field(timedelta(days=35), ge=timedelta(days=1), le=timedelta(days=3650))
    ticket_warn_percent: int = Field(80, ge=0, le=100)  # 0: no warning tickets
    ticket_smtp_url: str | None = None  # smtp://host:port or smtp+starttls://host:port
    ticket_smtp_to: str | None = None
    ticket_smtp_from: str = "slawatch@localhost"
    ticket_mbox: Path | None = None  # append tickets to this local mailbox file (mbox)
    ticket_webhook_url: str | None = None
    ticket_webhook_secret: str | None = None
    # on-duty channels (app/notify): every ticket goes to each one set, besides the sinks above
    notify_dingtalk_url: str | None = None  # https://oapi.dingtalk.com/robot/send?access_token=…
    notify_dingtalk_secret: SecretStr | None = None  # the robot's 加签 secret (SEC…)
    notify_dingtalk_mobiles: str = ""  # comma-separated: @-mentioned in every message
    notify_wecom_url: str | None = None  # https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
    notify_wecom_app_corpid: str | None = None  # WeCom application messages to the people paged
    notify_wecom_app_agentid: int | None = None
    notify_wecom_app_secret: SecretStr | None = None
    notify_wecom_app_url: str = "https://qyapi.weixin.qq.com"
    notify_feishu_url: str | None = None  # https://open.feishu.cn/open-apis/bot/v2/hook/… (or open.larksuite.com)
    notify_feishu_secret: SecretStr | None = None
    notify_sms_url: str | None = None  # the provider's Kannel smsbox (http://host:13013): escalation SMS pages
    notify_sms_username: str = "slawatch"
    notify_sms_password: SecretStr | None = None
    # or any HTTP SMS API: a URL with {to} and {text} (it may hold the API's key: a secret)
    notify_sms_http_template: SecretStr | None = None
    notify_sms_http_method: Literal["GET", "POST"] = "GET"
    notify_sms_http_success: str = ".*"  # a regular expression the answer must match

    @model_validator(mode="after")
    def _channels(self):
        app = (self.notify_wecom_app_corpid, self.notify_wecom_app_agentid, self.notify_wecom_app_secret)
        if any(x is not None for x in app) and not all(x is not None for x in app):
            raise ValueError("notify_wecom_app_corpid: set corpid, agentid and secret together (a WeCom app)")
        template = self.notify_sms_http_template.get_secret_value() if self.notify_sms_http_template else None
        if template is not None and ("{to}" not in template or "{text}" not in template
                                     or not template.startswith(("http://", "https://"))):
            raise ValueError("notify_sms_http_template: an http(s) URL with {to} and {text} in it")
        try:
            re.compile(self.notify_sms_http_success)
        except re.error as exc:
            raise ValueError(f"notify_sms_http_success: not a regular expression ({exc})") from None
        if self.notify_sms_url is not None and self.notify_sms_password is None:
            raise ValueError("notify_sms_password: required with notify_sms_url (the sendsms user's password)")
        for name in ("notify_dingtalk_url", "notify_wecom_url", "notify_feishu_url", "notify_sms_url"):
            url = getattr(self, name)
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"{name}: expected an http(s) URL")
        for secret, url in (("notify_dingtalk_secret", "notify_dingtalk_url"),
                            ("notify_feishu_secret", "notify_feishu_url")):
            if getattr(self, secret) is not None and getattr(self, url) is None:
                raise ValueError(f"{secret}: set {url} too (a secret signs that robot's messages)")
        return self

    @model_validator(mode="after")
    def _sinks(self):
        if self.ticket_smtp_url is not None:
            if not self.ticket_smtp_url.startswith(("smtp://", "smtp+starttls://")):
                raise ValueError("ticket_smtp_url: expected smtp://host:port or smtp+starttls://host:port")
            if not self.ticket_smtp_to:
                raise ValueError("ticket_smtp_to: required with ticket_smtp_url (the support mailbox)")
        if self.ticket_webhook_url is not None:
            if not self.ticket_webhook_url.startswith(("http://", "https://")):
                raise ValueError("ticket_webhook_url: expected an http(s) URL")
            if not self.ticket_webhook_secret:
                raise ValueError("ticket_webhook_secret: required with ticket_webhook_url (signs each ticket)")
        return self
    # the demo of `make run` (`slawatch run --demo`): services on loopback ports from this base
    demo: bool = False
    demo_dir: Path = Path(".demo")
    demo_port_base: int = Field(8100, ge=1, le=65400)
    probe_modules: Path = Path(__file__).resolve().parent.parent / "probes" / "modules.yml"
    # GET /probe: CIDRs and host names it may reach (comma-separated); empty: all but
    # link-local and cloud-metadata addresses. And how many may run at once (429 beyond).
    data_dir: Path = Path(".slawatch")  # results kept while the database cannot take them
    # this process's name among workers, stable across restarts; default host/role (set it
    # when one host runs several workers)
    worker_id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")

    def worker_name(self, role: str) -> str:
        import socket
        return self.worker_id or f"{socket.gethostname()}/{role}"[:64]
    probe_allow: str = ""
    # Fernet key(s) for secrets at rest, newest first (slawatch secrets keygen); write-only
    secret_key: SecretStr | None = None
    probe_concurrency: int = Field(50, ge=1, le=10000)
    # what one customer token may do per hour (429 beyond): claims filed, statements rendered
    claims_per_hour: int = Field(10, ge=1, le=100000)
    statements_per_hour: int = Field(60, ge=1, le=100000)

    @field_validator("results_retention", mode="before")
    @classmethod
    def _retention(cls, v):
        return parse_span(v) if isinstance(v, str) else v

    @field_validator("probe_allow")
    @classmethod
    def _probe_allow(cls, v: str) -> str:
        import ipaddress
        import re
        for item in (x.strip() for x in v.split(",") if x.strip()):
            if item.startswith("/"):  # a unix socket the unix prober may reach
                if len(item.encode()) > 107 or "\x00" in item:
                    raise ValueError(f"{item!r} is not a unix socket path (at most 107 bytes)")
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.?)*[A-Za-z0-9]?\.?", item) or len(item) > 253:
                    raise ValueError(f"{item!r} is neither a CIDR, a host name nor a socket path") from None
        return v

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, v: SecretStr | None) -> SecretStr | None:
        from app.auth.vault import VaultError, parse_keys
        if v is not None:
            try:
                parse_keys(v.get_secret_value())
            except VaultError as exc:
                raise ValueError(str(exc)) from None
        return v

    def vault(self):
        from app.auth.vault import Vault
        return Vault.from_text(self.secret_key.get_secret_value() if self.secret_key else None)

    def probe_allow_list(self) -> list[str]:
        return [x.strip() for x in self.probe_allow.split(",") if x.strip()]

    @field_validator("database_url")
    @classmethod
    def _database(cls, v: str) -> str:
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("expected sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return v

    @field_validator("rules_dir")
    @classmethod
    def _rules_dir(cls, v: Path) -> Path:
        if not (v / "templates").is_dir():
            raise ValueError(f"{v} has no templates/ folder")
        return v


def get_settings() -> Settings:
    return Settings()
