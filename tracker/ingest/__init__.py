"""The ERP's door: signed webhooks, the REST API and CSV import, all through one upsert service."""
