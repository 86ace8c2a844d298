"""LinkedIn Lead Sync and ad analytics."""
