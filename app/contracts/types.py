"""Field types shared by cases, contract files and templates: aware instants,
Decimal money, periods, month ranges. Each refuses bad input with a message
that reads well after the field's JSON pointer."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

Basis = Literal["contract", "policy"]
Category = Literal[
    "mail_send_receive", "server_fault", "sms_delivery", "service_unavailable",
    "mail_general", "credential_reset", "activation", "renewal",
]
OUTAGE_CATEGORIES = frozenset({"mail_send_receive", "server_fault", "sms_delivery", "service_unavailable"})
Attribution = Literal["provider", "unknown", "customer", "third_party", "force_majeure", "announced_maintenance"]
COUNTING_ATTRIBUTIONS = frozenset({"provider", "unknown"})


MIN_YEAR, MAX_YEAR = 1970, 2100  # wide for any contract; no arithmetic near them overflows
# an id is one URL path segment: no "/", no leading "." (so never ".."), no control characters
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Ident = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
Label = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]{1,128}$")]  # a case's own names: printable


class Strict(BaseModel):
    """Every model refuses unknown keys: a misspelt key is an error, never dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _aware(value: datetime) -> datetime:
    """Aware instants only, stored in UTC (SEMANTICS §1); reports show them in the
    contract's zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError("naive_datetime", "datetime has no UTC offset")
    return value.astimezone(timezone.utc)


def _iso(value: Any) -> Any:
    """An instant is an ISO 8601 string (or already a datetime): a JSON number is
    not an instant, whatever a Unix timestamp would mean (SEMANTICS §1)."""
    if isinstance(value, (str, datetime)):
        return value
    raise PydanticCustomError("instant_type", "instant must be an ISO 8601 string with a UTC offset")


def _in_range(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise PydanticCustomError("instant_range", f"instant must be within {MIN_YEAR}–{MAX_YEAR}")
    return value


# the range check runs first: converting year 1 or 9999 to UTC would overflow
Instant = Annotated[datetime, BeforeValidator(_iso), AfterValidator(_in_range), AfterValidator(_aware)]


MONEY_LIMIT = Decimal(10) ** 12  # every line and sum stays exact and far from Decimal's limits


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise PydanticCustomError("money_type", 'amount must be a string like "300.00" (or an integer), not a float')
    if isinstance(value, int):
        value = Decimal(value)
    elif isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise PydanticCustomError("money_format", 'amount must be a decimal string like "300.00"') from None
    elif not isinstance(value, Decimal):
        raise PydanticCustomError("money_type", 'amount must be a string like "300.00"')
    if not value.is_finite():
        raise PydanticCustomError("money_format", "amount must be a finite number")
    if value < 0:
        raise PydanticCustomError("money_negative", "amount must not be negative")
    if value >= MONEY_LIMIT:
        raise PydanticCustomError("money_range", "amount must have at most 12 integer digits")
    if value.as_tuple().exponent < -2:
        raise PydanticCustomError("money_precision", "amount has more than two decimals")
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]


def _percent(value: Any) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise PydanticCustomError("percent_type", 'percent must be a string like "99.9", not a float')
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError("percent_format", 'percent must be a decimal string like "99.9"') from None
    if not d.is_finite() or d < 0 or d > 100:
        raise PydanticCustomError("percent_range", "percent must be between 0 and 100")
    return d


Percent = Annotated[Decimal, BeforeValidator(_percent)]

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: Any, what: str = "period") -> tuple[int, int]:
    m = _PERIOD.match(text) if isinstance(text, str) else None
    if not m:
        raise PydanticCustomError("period_format", f"{what} must be a month like 2026-10")
    year = int(m.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PydanticCustomError("period_range", f"{what} must be within {MIN_YEAR}–{MAX_YEAR}")
    return year, int(m.group(2))


def _period(value: Any) -> str:
    parse_month(value)
    return value


Period = Annotated[str, BeforeValidator(_period)]


def _month_range(value: Any) -> str:
    if not isinstance(value, str) or value.count("/") != 1:
        raise PydanticCustomError("months_format", "months must be a range like 2026-01/2026-12")
    a, b = (parse_month(x, "months") for x in value.split("/"))
    if b < a:
        raise PydanticCustomError("months_order", "months range ends before it starts")
    return value


MonthRange = Annotated[str, BeforeValidator(_month_range)]


def _zone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError("timezone", f"unknown time zone {value!r}") from None
    return str(value)


TimeZoneName = Annotated[str, BeforeValidator(_zone)]


def months_between(first: tuple[int, int], last: tuple[int, int]) -> list[date]:
    (y, m), out = first, []
    while (y, m) <= last:
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
