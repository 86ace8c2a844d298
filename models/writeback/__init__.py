"""Writing back to the CRM: SLA breaches as tasks, stage and scores as properties."""
