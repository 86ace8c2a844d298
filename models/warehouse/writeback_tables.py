"""The writeback ledger: every write leadflow makes to a CRM, keyed so it is made once.

One row per (crm, kind, key): a task for one SLA breach (kind ``task``, key
``<rule>:<person_id>:<clock_start ISO>``) or one person's leadflow properties on their
contact (kind ``properties``, key the person id). A task's row is committed as ``pending``
before the CRM is asked to create it, so a crash between the two leaves a row that the next
run resolves by searching the CRM for the key instead of creating a second task
(``leadflow.models.writeback``). Defined on the one ``metadata`` (``schema``); ``tables``
imports every table module.
"""

from __future__ import annotations

import sqlalchemy as sa

from leadflow.models.warehouse.schema import _count, _str, _ts, metadata

WRITEBACK_STATUSES = ("pending", "created", "closed", "failed")

writebacks = sa.Table(
    "writebacks",
    metadata,
    _str("crm", "The CRM written to (hubspot).", nullable=False, primary_key=True),
    _str(
        "kind",
        "task (an SLA breach) or properties (stage and scores).",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "key",
        "External key: <rule>:<person_id>:<clock_start ISO> for a task, the person id for "
        "properties.",
        nullable=False,
        primary_key=True,
    ),
    _str("person_id", "The person (people.person_id) the write is about.", index=True),
    _str("object_id", "The CRM's id of the object written: the task, or the contact."),
    _str(
        "status",
        "pending (asked, outcome not recorded yet), created, closed (task completed) or failed.",
        nullable=False,
        index=True,
    ),
    _count("attempts", "Writes tried that failed or whose outcome was unknown."),
    _str("last_error", "Why the last attempt failed (status and field names, never a value)."),
    sa.Column(
        "payload_hash",
        sa.String(64),
        nullable=True,
        comment="sha256 of the property values last written (kind properties); else null.",
    ),
    _ts("created_at", "When the row was first recorded (UTC)."),
    _ts("updated_at", "When the row last changed (UTC)."),
    sa.CheckConstraint(f"status IN {WRITEBACK_STATUSES!r}", name="status"),
    comment="One row per write to a CRM (crm, kind, key): what, its CRM id, its outcome.",
)
