"""The BI views: the questions every BI user asks, answered the same on SQLite and PostgreSQL.

The views are defined in snapshots, one module per migration that changes them
(``views_0006``), with the ``View`` type of ``leadflow.models.bi.sql``; ``current_views``
names the latest. A migration does not import a snapshot: it carries the statements the
snapshot rendered when it was released, as text, with their SHA-256, so the warehouse never
imports this package and a migration keeps creating what it created the day it shipped.
``tests/models/bi/test_views.py`` checks that each released snapshot still renders its
migration's statements, so editing a released view fails loudly. To change a view, add a
new snapshot (``VIEWS_0007 = (*unchanged, new_view)``) and a migration that drops the old
definition and creates the new one from ``create_statements(VIEWS_0007, dialect)`` on both
dialects, pasted as text, with ``fingerprint(VIEWS_0007)``.

Conventions (the README's view list says the same):
- Months (``YYYY-MM``) and days of lead and qualification timestamps are UTC; ISO weeks come
  from ``sla_evaluations.period_week`` (the team's time zone); spend days are the ad
  account's days as the platform reports them.
- Test leads are left out; people are shown by ``email_hash`` (salted SHA-256), never by
  their address.
- Rates are fractions (0..1) and percentages are 0..100; both are null when the
  denominator is 0. Percentiles are nearest-rank (always a value that occurred), which
  both dialects can compute with window functions.
"""

from __future__ import annotations

from leadflow.models.bi.sql import (
    DIALECTS,
    SqlDialect,
    View,
    create_statements,
    drop_statements,
    fingerprint,
)
from leadflow.models.bi.views_0015 import VIEWS_0015

__all__ = [
    "DIALECTS",
    "SqlDialect",
    "View",
    "create_statements",
    "current_views",
    "drop_statements",
    "fingerprint",
]


def current_views() -> tuple[View, ...]:
    """The views at the head revision (the latest snapshot), in creation order."""
    return VIEWS_0015
