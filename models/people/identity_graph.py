"""Identity's graph over columns: edges between leads that share a usable key, and its
connected components (``leadflow.models.people.identity`` decides what they mean).

Every lead is a node numbered by its position in ``KeyColumns``; a HubSpot merged id that is
not a loaded lead is an alias node after them. Each lead is joined to the first lead with
the same usable key code (one edge a lead a key, not a clique), and scipy's
``connected_components`` labels the components in C. Codes, positions and edges are int32:
half of int64's memory, and a warehouse holds far fewer than 2**31 leads.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from leadflow.models.people.identity_keys import HUBSPOT, NO_KEY, KeyColumns, NaturalKey


def int32_codes(values: Any) -> np.ndarray:
    """An ``array('q')`` of codes (or positions) as an int32 array: a copy, half its size
    (a million leads' codes, edges and labels in int64 had added 180 MB to the peak)."""
    return np.array(values, dtype=np.int32) if len(values) else np.zeros(0, dtype=np.int32)


def equal_edges(codes: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges from every usable lead to the first lead with the same code."""
    positions = np.flatnonzero(usable).astype(np.int32)
    _, first, inverse = np.unique(codes[positions], return_index=True, return_inverse=True)
    return positions, positions[first][inverse.reshape(-1)]


def shared_phones(phones: np.ndarray, emails: np.ndarray) -> np.ndarray:
    """How many different emails share each phone code (all phones, by code)."""
    distinct_phones = int(phones.max()) + 1 if phones.size else 0
    both = (phones != NO_KEY) & (emails != NO_KEY)
    if not both.any():
        return np.zeros(distinct_phones, dtype=np.int64)
    span = int(emails.max()) + 1
    pairs = np.unique(phones[both].astype(np.int64) * span + emails[both])
    return np.bincount(pairs // span, minlength=distinct_phones)


def key_lookup(values: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """Whether each lead has a usable key: a code that is not ``NO_KEY`` nor blocked."""
    present = values != NO_KEY
    usable = present.copy()
    usable[present] = ~blocked[values[present]]
    return usable


def merge_edges(columns: KeyColumns) -> tuple[np.ndarray, np.ndarray, list[NaturalKey]]:
    """Edges from each HubSpot lead to the contacts merged into it (loaded leads, or alias
    nodes numbered after the leads); the aliases' natural keys."""
    if not columns.merged:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty, []
    hubspot = {
        lead_id: position
        for position, (source, lead_id) in enumerate(columns.natural_keys())
        if source == HUBSPOT
    }
    aliases: dict[str, int] = {}
    start, end = [], []
    for position, merged_ids in sorted(columns.merged.items()):
        for merged_id in merged_ids:
            node = hubspot.get(merged_id)
            if node is None:
                node = aliases.setdefault(merged_id, len(columns) + len(aliases))
            start.append(position)
            end.append(node)
    alias_keys = [(HUBSPOT, merged_id) for merged_id in aliases]
    return int32_codes(start), int32_codes(end), alias_keys


def components(count: int, starts: list[np.ndarray], ends: list[np.ndarray]) -> np.ndarray:
    """Each node's component label (scipy, in C: a union-find over a million leads in Python
    took seconds and about 36 bytes a lead for its list of parents)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    row = np.concatenate(starts)
    starts.clear()
    col = np.concatenate(ends)
    ends.clear()
    data = np.ones(row.size, dtype=np.int8)
    graph = coo_matrix((data, (row, col)), shape=(count, count)).tocsr()
    del row, col, data
    _, labels = connected_components(graph, directed=False)
    return labels


def duplicate_edges(columns: KeyColumns) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining the records that name one lead (a list may name one twice)."""
    first: dict[NaturalKey, int] = {}
    start, end = [], []
    for position, key in enumerate(columns.natural_keys()):
        held = first.setdefault(key, position)
        if held != position:
            start.append(position)
            end.append(held)
    return int32_codes(start), int32_codes(end)
