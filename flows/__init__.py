"""What Prefect runs: the flows (``sync_leads``, ``speed_to_lead``, ``backfill``, the SLA
flows, ``import_csv``), their tasks (``partitions``, ``run_steps``), the deployment step and
``leadflow serve``, and the Prefect glue (progress artifacts, the task runner). The work
itself is ``leadflow.pipeline``."""
