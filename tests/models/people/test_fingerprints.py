"""The rules and SLA fingerprints must not change from one process to the next."""

from __future__ import annotations

import os
import subprocess
import sys

from leadflow.models.people.rules import default_rules
from leadflow.models.people.scope import rules_fingerprint
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.scope import fingerprint

SCRIPT = """
from leadflow.models.people.scope import rules_fingerprint
from leadflow.models.people.rules import default_rules
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.scope import fingerprint
sla = SlaSettings(calendar={"country": "US"}, rules={"qualified_volume": {"per_period": 3}})
print(rules_fingerprint(default_rules()), fingerprint(sla, "Europe/Dublin"))
"""


def test_fingerprints_are_the_same_under_any_hash_seed() -> None:
    """Sets in the rules (countries, free email domains, lead statuses) iterate in a
    per-process order: a fingerprint taken from it made every new process classify and
    evaluate everyone again."""
    seen = set()
    for seed in ("1", "2", "3", "4"):
        env = os.environ | {"PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                              text=True, check=True)  # fmt: skip
        seen.add(done.stdout.strip())
    sla = SlaSettings(calendar={"country": "US"}, rules={"qualified_volume": {"per_period": 3}})
    here = f"{rules_fingerprint(default_rules())} {fingerprint(sla, 'Europe/Dublin')}"
    assert seen == {here}


def test_fingerprints_still_tell_settings_apart() -> None:
    rules = default_rules()
    other = rules.model_copy(
        update={"fit": rules.fit.model_copy(update={"target_countries": frozenset({"fr"})})}
    )
    assert rules_fingerprint(other) != rules_fingerprint(rules)
    sla = SlaSettings(calendar={"country": "US"})
    assert fingerprint(sla, "UTC") != fingerprint(sla, "Europe/Dublin")
    assert fingerprint(sla, "UTC") != fingerprint(SlaSettings(calendar={"country": "IE"}), "UTC")
