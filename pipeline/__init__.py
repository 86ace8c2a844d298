"""Plain functions the flows' tasks run: one partition's page loop, people, SLA glue. No Prefect."""
