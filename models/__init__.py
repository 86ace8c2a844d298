"""The data layer: canonical records, the warehouse, and the domains stored in it."""
