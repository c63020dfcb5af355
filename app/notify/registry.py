"""The channels, by name, and the ones the settings turn on."""
from __future__ import annotations

from app.notify.dingtalk import DingTalk
from app.notify.feishu import Feishu
from app.notify.sms import HttpSmsPage, KannelPage
from app.notify.wecom import WeComApp, WeComRobot

CHANNELS = {"dingtalk": DingTalk, "wecom": WeComRobot, "wecom_app": WeComApp, "feishu": Feishu, "sms": KannelPage,
            "sms_http": HttpSmsPage}


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def channels_from(settings) -> list:
    out = []
    if settings.notify_dingtalk_url:
        mobiles = tuple(m.strip() for m in settings.notify_dingtalk_mobiles.split(",") if m.strip())
        out.append(DingTalk(settings.notify_dingtalk_url, _secret(settings.notify_dingtalk_secret), mobiles))
    if settings.notify_wecom_url:
        out.append(WeComRobot(settings.notify_wecom_url))
    if settings.notify_wecom_app_corpid:
        out.append(WeComApp(settings.notify_wecom_app_url, settings.notify_wecom_app_corpid,
                            settings.notify_wecom_app_agentid, _secret(settings.notify_wecom_app_secret)))
    if settings.notify_feishu_url:
        out.append(Feishu(settings.notify_feishu_url, _secret(settings.notify_feishu_secret)))
    if settings.notify_sms_url:
        out.append(KannelPage(settings.notify_sms_url, settings.notify_sms_username,
                              _secret(settings.notify_sms_password)))
    if settings.notify_sms_http_template:
        out.append(HttpSmsPage(_secret(settings.notify_sms_http_template), settings.notify_sms_http_method,
                               settings.notify_sms_http_success))
    return out


def team_channels(oncall, team_id: str | None, environ) -> list:
    """The robots of the escalation's team (``sla_rules/oncall.yaml``), secrets from the environment."""
    if oncall is None:
        return []
    team = next((t for t in oncall.teams if t.id == team_id), None) if team_id else oncall.teams[0]
    if team is None or team.channels is None:
        return []
    c, out = team.channels, []
    if c.dingtalk:
        out.append(DingTalk(c.dingtalk.url, environ.get(c.dingtalk.secret_env) if c.dingtalk.secret_env else None))
    if c.wecom:
        out.append(WeComRobot(c.wecom.url))
    if c.feishu:
        out.append(Feishu(c.feishu.url, environ.get(c.feishu.secret_env) if c.feishu.secret_env else None))
    for sink in out:
        sink.name = f"{sink.name}:{team.id}"  # its own delivery record beside the global robot's
    return out


def contract_channels(policy) -> list:
    """A contract's own robots (its ``tickets.channels``, secrets already unsealed)."""
    c = policy.channels if policy is not None else None
    if c is None:
        return []
    out = ([DingTalk(c.dingtalk.url, c.dingtalk.secret)] if c.dingtalk else []) + \
        ([WeComRobot(c.wecom.url)] if c.wecom else []) + ([Feishu(c.feishu.url, c.feishu.secret)] if c.feishu else [])
    for sink in out:
        sink.name = f"{sink.name}:contract"
    return out
