"""Loading: leads, activity streams and spend written as idempotent upserts, with sync state and
runs."""
