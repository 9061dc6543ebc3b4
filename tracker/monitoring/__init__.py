"""``/metrics`` for Prometheus: this process's counters and the gauges the features read from the database."""
