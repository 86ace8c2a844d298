"""Lead export files (CSV/TSV) as a source."""
