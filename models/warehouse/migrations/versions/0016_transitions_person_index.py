"""Drop ``ix_stage_transitions_person_id``: a prefix of the unique constraint's index.

``stage_transitions`` is unique on (person_id, to_lifecycle, at), whose index serves every
lookup by person (a person's history, the cascade when a person is deleted) as the
one-column index did; keeping both cost every inserted transition a second index entry
(894,138 transitions of a first classification at 1M leads, PostgreSQL: 14.5 -> 11.7 s
to insert). The downgrade builds it again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_stage_transitions_person_id"


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index(INDEX, table_name="stage_transitions")


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index(INDEX, "stage_transitions", ["person_id"])
