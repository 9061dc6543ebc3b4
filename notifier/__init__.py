"""Customer notifications and ops alerts through an outbox (built in a later issue)."""
