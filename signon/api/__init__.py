"""Read-only JSON API for integrations (coalition websites, CRMs)."""
