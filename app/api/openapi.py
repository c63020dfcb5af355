"""The OpenAPI document says what the server does: every operation but the
public ones needs a bearer token, and each declares the problem+json answers it
can give (401, 403, 404, 422, 429), so a client — or schemathesis — can rely on
them."""
from __future__ import annotations

from app.contracts.types import ID_PATTERN

PUBLIC = {"/healthz", "/readyz", "/v1/sms/deliveries"}
PROBLEM = "application/problem+json"
ANSWERS = {
    "400": "a request the route cannot use (an unknown probe module, say)",
    "401": "no token, or an unknown, expired or revoked one (WWW-Authenticate: Bearer)",
    "403": "the token's role may not do this",
    "404": "no such resource, or not this customer's",
    "422": "invalid input: the JSON pointer and what is wrong",
    "409": "in conflict with what is stored (exists already, cannot in this state)",
    "429": "too many at once or per hour (Retry-After)",
}
# path parameters: ids are one safe segment (app.contracts.types.ID_PATTERN); incident
# and ticket ids carry "@" and ":" but never a control character or "/"
ID = ID_PATTERN
KEY = r"^[^\x00-\x1f\x7f/]{1,200}$"
PARAM_PATTERNS = {"incident_id": KEY, "ticket_id": KEY, "token_id": ID}
QUERY_PATTERNS = {"period": r"^(19[7-9]\d|20\d\d|2100)-(0[1-9]|1[0-2])$"}  # 1970-01 … 2100-12
TEXT = r"^[^\x00-\x1f\x7f]*$"
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "pointer": {"type": "string"}, "detail": {"type": "string"}}}},
        "reason": {"type": "string"},
    },
}


def declare(schema: dict) -> dict:
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer",
        "description": "an API token: slawatch tokens create --role admin|noc|customer|scrape"}
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    problem = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, ops in schema.get("paths", {}).items():
        for op in ops.values():
            for p in op.get("parameters", []):
                s = p.get("schema", {})
                if p["in"] == "path":
                    s["pattern"] = PARAM_PATTERNS.get(p["name"], ID)
                elif p["in"] == "query" and p["name"] in QUERY_PATTERNS:
                    _pattern(s, QUERY_PATTERNS[p["name"]])
                elif p["in"] == "query":
                    _pattern(s, TEXT)
            responses = op.setdefault("responses", {})
            codes = ["422", "413"] if path in PUBLIC else [*ANSWERS, "413"]
            if path not in PUBLIC:
                op["security"] = [{"bearer": []}]
            for code in codes:
                responses[code] = {"description": ANSWERS.get(code, "body larger than 5 MB"), "content": problem}
    return schema


def _pattern(schema: dict, pattern: str) -> None:
    """Set ``pattern`` on the string branch of a (possibly optional) parameter schema."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string" and "enum" not in branch and "format" not in branch:
            branch["pattern"] = pattern
