"""Classification rules load from YAML and are refused at load when invalid."""

from __future__ import annotations

import pytest
import yaml

from leadflow.models.people.rules import load_rules, rules_from_mapping
from tests.models.people.classify_facts import RULES


def test_rules_load_from_yaml(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    data = RULES.model_dump(mode="json")
    data["thresholds"]["fit"] = 5
    path.write_text(yaml.safe_dump(data))
    assert load_rules(path).thresholds.fit == 5
    assert load_rules() is RULES


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d: d["thresholds"].update(typo=1), id="unknown-key"),
        pytest.param(
            lambda d: d["channels"]["rules"].append({"channel": "x", "utm_medium": "("}),
            id="bad-regex",
        ),
        pytest.param(
            lambda d: d["channels"]["rules"].append({"channel": "x"}), id="rule-without-condition"
        ),
        pytest.param(lambda d: d["engagement"].update(half_life_days=0), id="zero-half-life"),
    ],
)
def test_invalid_rules_fail_at_load(mutate) -> None:
    data = RULES.model_dump(mode="json")
    mutate(data)
    with pytest.raises(ValueError):
        rules_from_mapping(data)
