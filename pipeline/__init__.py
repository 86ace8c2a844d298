"""Plain functions the flows' tasks run, no Prefect: the one page loop every source loads
through (``page_loop``) and the feeds built on it (``source_sync`` for platforms,
``file_import`` for export files), the run's context and summary (``run``, ``windows``,
``summaries``), people (``people``) and the SLA's plain parts (``sla``)."""
