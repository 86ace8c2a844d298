"""The marketing-sales SLA: the business-hours clock, its configuration and evaluation (pure),
and its store."""
