"""The HubSpot sandbox's sorted-slice search path returns exactly what a full scan returns.

``ObjectStore.search`` answers range filters on datetime/number properties from cached sorted
orders; ``ObjectStore.search_scan`` is the reference (every object through the predicate).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.sandbox.data import format_hubspot_datetime, hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.order_slices import Slice
from leadflow.sandbox.hubspot.properties import CALLS
from leadflow.sandbox.hubspot.search import SearchLimits
from leadflow.sandbox.hubspot.store import ObjectStore

TOKEN = "sandbox-hubspot-token"
LIMITS = SearchLimits()
BASE = datetime(2026, 1, 1, tzinfo=UTC)
STAMPS = [BASE + timedelta(minutes=m) for m in range(12)]  # few values: many ties
DIRECTIONS = ("INBOUND", "OUTBOUND")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _call(i: int, draw: Any) -> dict[str, Any]:
    modified = draw(st.sampled_from(STAMPS))
    props = {
        "hs_object_id": str(1000 + i),
        "hs_createdate": format_hubspot_datetime(STAMPS[0]),
        "hs_lastmodifieddate": format_hubspot_datetime(modified),
        "hs_timestamp": draw(
            st.one_of(st.none(), st.sampled_from(STAMPS).map(format_hubspot_datetime))
        ),
        "hs_call_duration": draw(
            st.one_of(st.none(), st.sampled_from(["0", "500", "1500", "9000"]))
        ),
        "hs_call_direction": draw(st.sampled_from(DIRECTIONS)),
        "hs_call_title": draw(st.sampled_from(["Call with Ann", "Call with Bob", "Intro"])),
    }
    return {
        "id": str(1000 + i),
        "properties": props,
        "createdAt": props["hs_createdate"],
        "updatedAt": props["hs_lastmodifieddate"],
        "archived": draw(st.booleans().map(lambda b: b and i % 3 == 0)),
    }


RANGE_PROPS = ("hs_lastmodifieddate", "hs_timestamp", "hs_call_duration", "hs_object_id")
VALUES = {
    "hs_lastmodifieddate": [_ms(s) for s in STAMPS] + [_ms(STAMPS[3]) + 1],
    "hs_timestamp": [_ms(s) for s in STAMPS],
    "hs_call_duration": [0, 500, 1000, 1500, 9000],
    "hs_object_id": [1000, 1005, 1010, 1020, 1040],
}


@st.composite
def _filter(draw: Any) -> dict[str, Any]:
    if draw(st.integers(0, 5)) == 0:  # a non-range filter now and then
        return draw(
            st.sampled_from(
                [
                    {"propertyName": "hs_call_direction", "operator": "EQ", "value": "OUTBOUND"},
                    {"propertyName": "hs_call_duration", "operator": "HAS_PROPERTY"},
                    {"propertyName": "hs_timestamp", "operator": "NOT_HAS_PROPERTY"},
                    {"propertyName": "hs_call_duration", "operator": "NEQ", "value": "500"},
                ]
            )
        )
    name = draw(st.sampled_from(RANGE_PROPS))
    op = draw(st.sampled_from(["GT", "GTE", "LT", "LTE", "EQ", "BETWEEN"]))
    value = draw(st.sampled_from(VALUES[name]))
    flt: dict[str, Any] = {"propertyName": name, "operator": op, "value": str(value)}
    if name == "hs_lastmodifieddate" and draw(st.booleans()):
        flt["value"] = format_hubspot_datetime(datetime.fromtimestamp(value / 1000, UTC))
    if op == "BETWEEN":
        flt["highValue"] = str(draw(st.sampled_from(VALUES[name])))
    return flt


@st.composite
def _body(draw: Any) -> dict[str, Any]:
    groups = draw(
        st.lists(
            st.lists(_filter(), min_size=1, max_size=3).map(lambda f: {"filters": f}),
            min_size=1,
            max_size=3,
        )
    )
    body: dict[str, Any] = {"filterGroups": groups}
    sort = draw(st.sampled_from([None, *RANGE_PROPS, "hs_call_direction"]))
    if sort is not None:
        direction = draw(st.sampled_from(["ASCENDING", "DESCENDING"]))
        body["sorts"] = [{"propertyName": sort, "direction": direction}]
    if draw(st.integers(0, 6)) == 0:
        body["query"] = draw(st.sampled_from(["ann", "call"]))
    return body


def _store(draw: Any, size: int) -> ObjectStore:
    return ObjectStore([_call(i, draw) for i in range(size)], object_type=CALLS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_path_equals_full_scan(data: st.DataObject) -> None:
    store = _store(data.draw, data.draw(st.integers(0, 60)))
    for body in data.draw(st.lists(_body(), min_size=1, max_size=4)):
        assert list(store.search(body, LIMITS)) == store.search_scan(body, LIMITS), body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_path_after_updates_and_archiving(data: st.DataObject) -> None:
    """Orders cached before an upsert or an archive are never used after it."""
    store = _store(data.draw, 40)
    bodies = data.draw(st.lists(_body(), min_size=1, max_size=3))
    store.warm("hs_lastmodifieddate", "hs_object_id")
    for body in bodies:
        store.search(body, LIMITS)
    for _ in range(data.draw(st.integers(1, 4))):
        target = str(1000 + data.draw(st.integers(0, 45)))  # some are new objects
        if data.draw(st.booleans()) and store.get(target) is not None:
            store.set_archived(target, not store.get(target)["archived"])  # type: ignore[index]
        else:
            stamp = data.draw(st.sampled_from(STAMPS))
            store.upsert({"hs_object_id": target, "hs_call_duration": "500"}, stamp)
        for body in bodies:
            assert list(store.search(body, LIMITS)) == store.search_scan(body, LIMITS), body


def _window(low: int, op: str = "GTE", sort: str = "hs_lastmodifieddate") -> dict[str, Any]:
    return {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": op, "value": low}]}
        ],
        "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
    }


def test_connector_window_is_a_slice_of_the_cached_order() -> None:
    store = ObjectStore(
        [
            {
                "id": str(i),
                "properties": {
                    "hs_object_id": str(i),
                    "hs_createdate": format_hubspot_datetime(STAMPS[0]),
                    "hs_lastmodifieddate": format_hubspot_datetime(STAMPS[i % 12]),
                },
                "createdAt": "",
                "updatedAt": "",
                "archived": i % 17 == 0,
            }
            for i in range(1, 400)
        ],
        object_type=CALLS,
    )
    for stamp in STAMPS:
        for op in ("GTE", "GT"):
            fast = store.search(_window(_ms(stamp), op), LIMITS)
            scan = store.search_scan(_window(_ms(stamp), op), LIMITS)
            assert isinstance(fast, Slice)  # the window did take the fast path
            assert list(fast) == scan
            assert len(fast) == len(scan)
            for start, stop, step in [(0, 200, 1), (200, 400, 1), (5, 9, 1), (0, 50, 7)]:
                assert fast[start:stop:step] == scan[start:stop:step]
            if scan:
                assert fast[-1] == scan[-1] and fast[0] == scan[0]
        tie = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "GTE",
                            "value": _ms(stamp),
                        },
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "LTE",
                            "value": _ms(stamp),
                        },
                        {"propertyName": "hs_object_id", "operator": "GT", "value": "100"},
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        }
        assert list(store.search(tie, LIMITS)) == store.search_scan(tie, LIMITS)


def test_index_lag_is_kept_on_range_queries() -> None:
    """While an update is still being indexed, searches see the previous version."""
    contacts = hubspot_contacts(50)
    store = ObjectStore(contacts, index_lag=0.3)
    store.warm("lastmodifieddate")
    target = contacts[10]["id"]
    moved = datetime(2030, 1, 1, tzinfo=UTC)
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "lastmodifieddate", "operator": "GTE", "value": _ms(moved)}
                ]
            }
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
    }
    everything = {
        **body,
        "filterGroups": [{"filters": [{**body["filterGroups"][0]["filters"][0], "value": 0}]}],
    }
    before = list(store.search(everything, LIMITS))
    store.upsert({"hs_object_id": target, "city": "Lisbon"}, moved)
    assert list(store.search(body, LIMITS)) == [] == store.search_scan(body, LIMITS)
    assert list(store.search(everything, LIMITS)) == before  # the old position, still
    time.sleep(0.35)
    assert list(store.search(body, LIMITS)) == [target] == store.search_scan(body, LIMITS)
    assert list(store.search(everything, LIMITS)) == store.search_scan(everything, LIMITS)


def test_http_paging_over_a_fast_window_matches_the_scan() -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(450)) as hs:
        assert hs.prepare() >= 0
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {TOKEN}"
        low = sorted(c["properties"]["lastmodifieddate"] for c in hs.contacts)[100]
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": low}]}
            ],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}],
            "limit": 37,
        }
        seen, after, totals = [], None, set()
        while True:
            page = http.post(
                f"{hs.base_url}/crm/v3/objects/contacts/search",
                json={**body, **({"after": after} if after else {})},
                timeout=10,
            ).json()
            seen += [r["id"] for r in page["results"]]
            totals.add(page["total"])
            after = page.get("paging", {}).get("next", {}).get("after")
            if after is None:
                break
        assert seen == hs.store.search_scan(body, LIMITS)
        assert totals == {len(seen)}
        calls = hs._sales().stores["calls"]
        window = _window(0)
        assert list(calls.search(window, LIMITS)) == calls.search_scan(window, LIMITS)


@settings(max_examples=100, deadline=None)
@given(
    members=st.lists(st.integers(0, 30), min_size=0, max_size=25, unique=True),
    excluded=st.lists(st.integers(0, 35), max_size=3),
    stop=st.integers(0, 25),
    seed=st.integers(0, 1000),
)
def test_colleague_choice_equals_the_plain_list(
    members: list[int], excluded: list[int], stop: int, seed: int
) -> None:
    """Shared meetings pick a colleague from a lazy view: the same pick as from the list."""
    import random

    from leadflow.sandbox.hubspot.sales_data import _Company, _Others

    rows = sorted((f"2026-01-{m:02d}", f"c{m}") for m in members)
    company = _Company(rows, {cid: i for i, (_, cid) in enumerate(rows)})
    stop = min(stop, len(rows))
    ids = [f"c{e}" for e in excluded]
    plain = [cid for _, cid in rows[:stop] if cid not in ids]
    lazy = _Others(company, stop, ids)
    assert len(lazy) == len(plain) and list(lazy) == plain
    assert [lazy[i] for i in range(len(plain))] == plain
    if plain:
        assert random.Random(seed).choice(lazy) == random.Random(seed).choice(plain)
