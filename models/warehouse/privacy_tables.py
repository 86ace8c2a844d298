"""Tables for the warehouse as a BI product: the suppression list of erased people.

Defined on the shared ``leadflow.models.warehouse.schema.metadata``
(``leadflow.models.warehouse.tables`` imports it), so Alembic and the drift test see it with the
rest of the schema. The BI views are not tables: their SQL lives in ``leadflow.models.bi.views`` and
Alembic creates them (revision 0006).
"""

from __future__ import annotations

import sqlalchemy as sa

from leadflow.models.warehouse.schema import _str, _ts, metadata

SUPPRESSION_KINDS = ("email", "phone", "lead")

suppression_list = sa.Table(
    "suppression_list",
    metadata,
    sa.Column(
        "key_hash",
        sa.String(64),
        primary_key=True,
        comment="Salted SHA-256 of kind:value (an email match key, an E.164 phone, or "
        "source:lead id): never the value itself.",
    ),
    _str("kind", "What was hashed: email, phone or lead.", nullable=False),
    sa.Column(
        "salt_id",
        sa.String(16),
        nullable=False,
        comment="Fingerprint of the salt that made key_hash, so a changed privacy.hash_salt "
        "is noticed instead of silently letting erased people back in.",
    ),
    _str("request_id", "Id of the forget request that added the row.", nullable=False),
    _ts("suppressed_at", "When the person was erased (UTC)."),
    sa.CheckConstraint("kind IN ('email', 'phone', 'lead')", name="kind"),
    comment=(
        "One row per hashed identifier of an erased person (key_hash): syncs skip leads, "
        "events and touches that match one."
    ),
)
