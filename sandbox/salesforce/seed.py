"""The seeded org as a whole: ``seed_org(leads, seed=...)`` (see ``data`` and ``activity``;
objects as https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/
describes them)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from leadflow.sandbox.data import DEFAULT_ANCHOR
from leadflow.sandbox.salesforce.activity import add_activity
from leadflow.sandbox.salesforce.data import WINDOW, Org, add_ties, campaigns, leads, roles, users


def seed_org(
    count: int = 500, *, seed: int = 11, anchor: datetime = DEFAULT_ANCHOR, activities: bool = True
) -> Org:
    """Roles, users and campaigns, then ``count`` leads with their status histories and
    converted contacts and (unless ``activities`` is false, for a cheap large org) their
    tasks, events and campaign members; identical for identical arguments."""
    org = Org(anchor, {}, {})
    rng = random.Random(seed)
    set_up = anchor - WINDOW - timedelta(days=60)
    role_rows = roles(org, set_up)
    user_rows = users(org, role_rows, set_up)
    owners = [user["Id"] for user in user_rows[1:] if user["IsActive"]]
    org.rows.update(
        UserRole=role_rows, User=user_rows, Campaign=campaigns(org, user_rows[0]["Id"], anchor)
    )
    org.rows["Lead"] = leads(org, rng, count, owners)
    add_activity(org, random.Random(seed + 1), activities)
    add_ties(rng, org.rows["Lead"])
    return org
