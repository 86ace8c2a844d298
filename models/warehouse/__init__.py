"""The warehouse itself: engines, tables, migrations, upserts and the run lock."""
