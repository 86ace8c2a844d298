"""The stored rows as tuples (leadflow.models.sla.rows): a row judged again over its own
stored values is unchanged, any other value is a change; repeated JSON encoded alike."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leadflow.models.sla import rows
from leadflow.models.sla.clock import BusinessCalendar
from leadflow.models.sla.config import SlaRules
from leadflow.models.sla.evaluate import Decision, Facts, History, Qualification, Touch
from leadflow.models.warehouse.bulk import _json_texts

NY = ZoneInfo("America/New_York")
CAL = BusinessCalendar(timezone="America/New_York", country="US")
START = datetime(2026, 11, 24, 10, 0, tzinfo=NY)
H = timedelta(hours=1)
FACTS = [
    Facts(Qualification("p1", START, 40, "r1", "hubspot", "A")),
    Facts(Qualification("p2", START, None), [Touch(START + 2 * H, True)]),
    Facts(
        Qualification("p3", START, 10, "r2", "hubspot", "B"),
        [Touch(START - H, True), Touch(START + H, False, True), Touch(START + 3 * H, True)],
        [Decision(START + 30 * H, accepted=False)],
    ),
    Facts(Qualification("p4", START + H, 60, inferred=True), (), [Decision(START, True)]),
]
OLD = [
    None,
    History("breached", START, "run-0", None, START),
    History("met", START, "run-0", START + H, START),
    History("pending", None, None, None, START),
]


def test_a_row_over_its_own_stored_values_is_unchanged_and_any_other_is_a_change() -> None:
    rules, now = SlaRules(), START + 50 * H
    checked = 0
    for facts, old in zip(FACTS, OLD, strict=True):
        for judgement in rows.judged(facts, rules, rows.plan(rules), CAL, now):
            row, _ = rows.with_history(judgement, old, now, "run-1")
            stored = tuple(row[i] for i in rows.STORED)
            kept = History(row[rows.STATUS], *row[16:20], stored=stored)
            assert rows.unchanged(row, kept) and not rows.unchanged(row, None)
            moved = History(row[rows.STATUS], *row[16:20], stored=(*stored[:-1], START + 1000 * H))
            assert not rows.unchanged(row, moved)
            checked += 1
    assert checked >= 10


def test_repeated_json_objects_are_encoded_alike() -> None:
    values = [{"connected": True}, {"connected": 1}, {"connected": True}, {"fit": None},
              {"x": 0.0}, {"x": -0.0}, {"n": {"deep": 1}}, {}, None, ["a"], {1: "a"},
              {"1": "a"}]  # fmt: skip
    assert _json_texts(values) == [None if v is None else json.dumps(v) for v in values]
