"""The intake inbox: each platform notification committed before it is acknowledged.

One row per (platform, notification id): the lead id a webhook names (Meta's
``leadgen_id``, Google's ``lead_id``, LinkedIn's lead form response id), so a platform's
retry of the same lead finds its row and adds nothing. ``leadflow intake`` writes a row
before it answers 2xx, and loads the lead from it afterwards (``models/loading/inbox.py``).
Defined on the one ``metadata`` (``schema``); ``tables`` imports every table module.
"""

from __future__ import annotations

import sqlalchemy as sa

from leadflow.models.warehouse.schema import _count, _json, _str, _ts, metadata

INBOX_STATUSES = ("pending", "loaded", "failed")

intake_inbox = sa.Table(
    "intake_inbox",
    metadata,
    _str("platform", "meta, google_ads or linkedin.", nullable=False, primary_key=True),
    _str(
        "notification_id",
        "The lead id the notification names (the platform's id; dedupes retries).",
        nullable=False,
        primary_key=True,
    ),
    _str("account_id", "The lead account it belongs to, when the notification says."),
    sa.Column(
        "body",
        _json(),
        nullable=False,
        comment="The notification as received (JSON; Google's google_key left out). "
        "Google's carries the lead's answers until it is loaded (then left out).",
    ),
    _ts("received_at", "When leadflow received and committed it (UTC)."),
    _str(
        "status",
        "pending (to load, or retried), loaded, or failed (gave up).",
        nullable=False,
        index=True,
    ),
    _count("attempts", "Loads tried that failed (a lead not fetchable yet counts)."),
    _ts("next_attempt_at", "Not retried before this instant (UTC); null: at once.", nullable=True),
    _str("last_error", "Why the last attempt failed (names the step, never a value)."),
    _ts("processed_at", "When it was loaded or given up (UTC).", nullable=True),
    comment="One row per platform notification of a new lead, committed before the 2xx.",
)
