"""``sla_rules/oncall.yaml``: people, teams and their shifts, overrides for swaps —
validated like the templates (``file:line: field: message``)."""
from __future__ import annotations

import re
from datetime import date, time
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.contracts.types import Ident, Instant, Strict, TimeZoneName

Clock = str  # "HH:MM", "24:00" as an end


def parse_clock(text: str) -> time | None:
    """``HH:MM``; ``24:00`` is None (the end of the day)."""
    if text == "24:00":
        return None
    h, _, m = text.partition(":")
    return time(int(h), int(m))


class Person(Strict):
    id: Ident
    name: str = Field(min_length=1, max_length=100)
    mobile: str | None = Field(None, pattern=r"^\+?[0-9]{6,15}$")  # SMS pages; DingTalk @-mentions
    dingtalk: str | None = Field(None, max_length=64)  # DingTalk user id
    wecom: str | None = Field(None, max_length=64)  # WeCom user id
    feishu: str | None = Field(None, max_length=64)  # Feishu open_id


class Shift(Strict):
    name: Ident
    # workdays: PRC working days, 调休 Saturdays and Sundays included; rest_days: weekends and holidays
    days: Literal["workdays", "rest_days", "every_day"]
    start: Clock
    end: Clock  # at or before start: the next day

    people: list[Ident] = Field(min_length=1)
    rotate: Literal["none", "daily", "weekly"] = "none"  # none: all of them; else one, in turn
    since: date | None = None  # the day the first in the list is on duty

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str, info) -> str:
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]" + ("|24:00" if info.field_name == "end" else ""), v):
            raise PydanticCustomError("clock", "expected a time like 09:00" + (" (or 24:00)" if info.field_name == "end"
                                                                                 else ""))
        return v

    @model_validator(mode="after")
    def _since(self):
        if self.rotate != "none" and self.since is None:
            raise PydanticCustomError("since", "required when the shift rotates (the first person's day)",
                                      {"field": "since"})
        return self


class Robot(Strict):
    """A team's own robot. Its secret is never in this file: ``secret_env`` names the
    environment variable that holds it (write-only, as every secret)."""
    url: str = Field(pattern=r"^https?://")
    secret_env: str | None = Field(None, pattern=r"^[A-Z][A-Z0-9_]{0,63}$")


class TeamChannels(Strict):
    dingtalk: Robot | None = None
    wecom: Robot | None = None
    feishu: Robot | None = None


class Team(Strict):
    id: Ident
    shifts: list[Shift] = Field(min_length=1)
    lead: Ident | None = None  # escalation: the team lead
    manager: Ident | None = None  # escalation: the duty manager
    channels: TeamChannels | None = None  # this team's robots: its contracts' tickets go there too


class Override(Strict):
    team: Ident
    start: Instant
    end: Instant
    people: list[Ident] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self):
        if self.end <= self.start:
            raise PydanticCustomError("order", "end is not after start", {"field": "end"})
        return self


class OnCall(Strict):
    timezone: TimeZoneName = "Asia/Shanghai"
    people: list[Person] = Field(min_length=1)
    teams: list[Team] = Field(min_length=1)
    overrides: list[Override] = []

    @field_validator("people")
    @classmethod
    def _unique(cls, people: list[Person]) -> list[Person]:
        seen = set()
        for i, p in enumerate(people):
            if p.id in seen:
                raise PydanticCustomError("duplicate", f"person id {p.id!r} appears twice", {"field": f"people/{i}/id"})
            seen.add(p.id)
        return people

    @model_validator(mode="after")
    def _known(self):
        known, teams = {p.id for p in self.people}, {t.id for t in self.teams}
        for i, t in enumerate(self.teams):
            for role in ("lead", "manager"):
                if getattr(t, role) is not None and getattr(t, role) not in known:
                    raise PydanticCustomError("unknown", f"unknown person {getattr(t, role)!r}",
                                              {"field": f"teams/{i}/{role}"})
            for j, s in enumerate(t.shifts):
                for k, p in enumerate(s.people):
                    if p not in known:
                        raise PydanticCustomError("unknown", f"unknown person {p!r}",
                                                  {"field": f"teams/{i}/shifts/{j}/people/{k}"})
        for i, o in enumerate(self.overrides):
            if o.team not in teams:
                raise PydanticCustomError("unknown", f"unknown team {o.team!r}", {"field": f"overrides/{i}/team"})
            for k, p in enumerate(o.people):
                if p not in known:
                    raise PydanticCustomError("unknown", f"unknown person {p!r}",
                                              {"field": f"overrides/{i}/people/{k}"})
        return self
