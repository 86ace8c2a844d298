"""Canonical records every connector produces, and their pure helpers (normalizers, JSON,
hashes). Imports nothing of the project."""
