"""CEL over a JSON body (blackbox_exporter's ``fail_if_body_json_matches_cel`` and
``..._not_matches_cel``): the expression sees the parsed body as ``body``. cel-python
compiles it (once per expression) and evaluates it; it is imported on first use, as
only modules that name an expression need it."""
from __future__ import annotations

import json
from functools import lru_cache


@lru_cache(maxsize=256)
def program(expression: str):
    """The compiled expression, or ValueError in blackbox's words."""
    import celpy
    try:
        env = celpy.Environment()
        return env.program(env.compile(expression))
    except Exception:  # noqa: BLE001 - cel-python's parse and check errors have no common base
        raise ValueError(f'"Could not compile CEL program" expression="{expression}"') from None


def matches(expression: str, body: bytes) -> bool | None:
    """Whether the JSON ``body`` makes the expression true; None when the body is not
    JSON or the result is not a boolean (the probe fails either way, as blackbox's does)."""
    import celpy
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    try:
        result = program(expression).evaluate({"body": celpy.json_to_cel(document)})
    except Exception:  # noqa: BLE001 - an evaluation error (a missing field …) is no match decided
        return None
    return bool(result) if isinstance(result, celpy.celtypes.BoolType) else None
