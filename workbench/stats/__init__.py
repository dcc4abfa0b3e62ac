"""Statistics over small aggregates (binned counts, per-bucket series): no data access here."""
