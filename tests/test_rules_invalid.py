"""One fixture per failure mode (tests/sla_rules/invalid/), each with its exact
message: file, line, field. And the shipped rules all load."""

import pytest
from conftest import ROOT, RULES_DIR

from app.contracts.rules import (
    load_calendar,
    load_contract,
    load_intake,
    load_maintenance,
    load_oncall,
    load_rules,
    load_template,
)
from app.contracts.yamlfile import RulesError

INVALID = ROOT / "tests" / "sla_rules" / "invalid"
P = "tests/sla_rules/invalid/"

TEMPLATES = {
    "bad_cap_rule": "6: cap.rule: expected one of 'month_fee', 'total_paid' or 'trailing_12m_paid'",
    "bad_limit": "14: windows[1].limit: expected a duration like 2h or 1wd",
    "bad_param_default": "8: parameters.workday_hours.default: 18:00-09:00: end must be after start",
    "bad_timezone": "5: timezone: unknown time zone 'Asia/Beijing'",
    "bad_yaml": "8: invalid YAML: expected ',' or ']', but got ':'",
    "duplicate_key": "10: windows[0].limit: duplicate key",
    "duplicate_window": "11: windows[1].name: window 'respond_1h' is defined twice",
    "limit_and_param": "11: windows[0].limit: give exactly one of limit or limit_param",
    "limit_param_unknown": "9: windows[0].limit_param: 'notify_limt' is not a duration parameter of this template",
    "missing_clause": "6: windows[0].clause: a rule with basis contract must cite its clause",
    "misspelt_key": "8: windows[0].clock_stp: unknown field",
    "unknown_calendar": "10: windows[0].calendar: unknown calendar 'office_hours' (known: always, cn_workdays)",
    "unknown_category": "7: windows[0].applies_to[1]: expected one of 'mail_send_receive', 'server_fault', "
                        "'sms_delivery', 'service_unavailable', 'mail_general', 'credential_reset', "
                        "'activation' or 'renewal'",
    "workdays_on_uneven_calendar": "13: windows[0].limit: working-day limits need a calendar with the same hours every day",
    "wrong_id": "2: id: id 'something_else' does not match the file name 'wrong_id'",
}

CONTRACTS = {
    "billion_laughs": "4: YAML aliases (*a) are not allowed",
    "bad_param_value": "4: params.workday_hours: expected hours like 09:00-18:00 (several joined by commas)",
    "float_fee": '3: month_fee: amount must be a string like "300.00" (or an integer), not a float',
    "unknown_param": "4: params.notify_limt: unknown parameter for template ningbo-colo (known: notify_limit, workday_hours)",
    "unknown_template": "2: template: unknown template 'xiamen-mial' (known: aliyun-mail, inolink-sms, "
                        "ningbo-colo, shengjing-crm, xiamen-mail)",
}

ONCALL = {  # sla_rules/oncall.yaml
    "bad_clock": "6: teams[0].shifts[0].start: expected a time like 09:00",
    "rotate_without_since": "7: teams[0].shifts[0].since: required when the shift rotates (the first person's day)",
    "unknown_person": "10: teams[0].shifts[0].people[1]: unknown person 'lina'",
    "yaml_on_key": "7: teams[0].shifts[0].on: YAML reads the key 'on' as a yes/no; quote it or use another name",
}

INTAKE = {  # sla_rules/intake.yaml
    "bad_category": "4: routes[0].category: expected one of mail_send_receive, server_fault, service_unavailable, "
                    "sms_delivery",
    "bad_regex": "4: routes[1].match_re: instance: not a regular expression (unterminated character set at "
                 "position 8)",
}

MAINTENANCE = {  # sla_rules/maintenance/*.yaml
    "bad_rrule": "6: windows[0].rrule: FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY",
    "duplicate_id": "6: windows[1].id: window id 'm-one' is already used in "
                    "tests/sla_rules/invalid/maintenance/duplicate_id.yaml",
    "naive_time": "4: windows[0].starts_at: datetime has no UTC offset",
    "two_scopes": "7: windows[1].contract_id: give exactly one of contract_id, target_id, customer_id",
}

CALENDARS = {
    "date_outside_year": "4: holidays[1]: 2026-12-31 is not in 2027",
    "year_mismatch": "1: year: year 2028 does not match the file name",
}


def test_every_fixture_has_an_expected_message():
    on_disk = {p.stem for p in INVALID.glob("*.yaml")}
    assert on_disk == set(TEMPLATES)
    assert {p.stem for p in (INVALID / "contracts").glob("*.yaml")} == set(CONTRACTS)
    assert {p.name for p in (INVALID / "calendars").iterdir()} == set(CALENDARS)
    assert {p.stem for p in (INVALID / "oncall").glob("*.yaml")} == set(ONCALL)
    assert {p.stem for p in (INVALID / "intake").glob("*.yaml")} == set(INTAKE)
    assert {p.stem for p in (INVALID / "maintenance").glob("*.yaml")} == set(MAINTENANCE)


@pytest.mark.parametrize("kind, reason", [("oncall", r) for r in sorted(ONCALL)] + [("intake", r) for r in sorted(INTAKE)]
                         + [("maintenance", r) for r in sorted(MAINTENANCE)])
def test_invalid_rota_intake_or_maintenance_file(kind, reason):
    load, expected = {"oncall": (load_oncall, ONCALL), "intake": (load_intake, INTAKE),
                      "maintenance": (load_maintenance, MAINTENANCE)}[kind]
    with pytest.raises(RulesError) as e:
        load(INVALID / kind / f"{reason}.yaml", ROOT)
    assert str(e.value) == f"{P}{kind}/{reason}.yaml:{expected[reason]}"


@pytest.mark.parametrize("reason", sorted(TEMPLATES))
def test_invalid_template(reason):
    with pytest.raises(RulesError) as e:
        load_template(INVALID / f"{reason}.yaml", ROOT)
    assert str(e.value) == f"{P}{reason}.yaml:{TEMPLATES[reason]}"


@pytest.mark.parametrize("reason", sorted(CONTRACTS))
def test_invalid_contract(reason, rules):
    with pytest.raises(RulesError) as e:
        load_contract(INVALID / "contracts" / f"{reason}.yaml", ROOT, rules.templates)
    assert str(e.value) == f"{P}contracts/{reason}.yaml:{CONTRACTS[reason]}"


@pytest.mark.parametrize("reason", sorted(CALENDARS))
def test_invalid_calendar(reason):
    with pytest.raises(RulesError) as e:
        load_calendar(INVALID / "calendars" / reason / "cn-2027.yaml", ROOT)
    assert str(e.value) == f"{P}calendars/{reason}/cn-2027.yaml:{CALENDARS[reason]}"


def test_shipped_rules_load_with_every_window_of_terms_md(rules):
    windows = {t: [w.name for w in rules.templates[t].windows] for t in rules.templates}
    assert windows == {
        "xiamen-mail": ["handle_24h"],
        "aliyun-mail": ["respond_5h", "resolve_2h"],
        "ningbo-colo": ["respond_1h", "resolve_1wd", "notify"],
        "inolink-sms": ["credentials_2h"],
        "shengjing-crm": ["activate_2wd", "renew_1wd"],
    }
    for t in rules.templates.values():
        for rule in [*t.windows, *t.credits, *(x for x in (t.cap, t.termination) if x)]:
            assert rule.clause and rule.original, (t.id, rule)
    assert {t.cap.rule if t.cap else None for t in rules.templates.values()} == \
        {"month_fee", "total_paid", "trailing_12m_paid", None}


def test_a_bad_file_in_the_rules_tree_stops_the_load(tmp_path):
    import shutil
    root = tmp_path / "sla_rules"
    shutil.copytree(RULES_DIR, root)
    (root / "templates" / "ningbo-colo.yaml").write_text(
        (RULES_DIR / "templates" / "ningbo-colo.yaml").read_text(encoding="utf-8").replace("limit: 1wd", "limit: 1 day"),
        encoding="utf-8")
    with pytest.raises(RulesError) as e:
        load_rules(root)
    line = next(i for i, s in enumerate((root / "templates" / "ningbo-colo.yaml").read_text(encoding="utf-8").splitlines(), 1)
                if "limit: 1 day" in s)
    assert str(e.value) == f"sla_rules/templates/ningbo-colo.yaml:{line}: windows[1].limit: expected a duration like 2h or 1wd"
