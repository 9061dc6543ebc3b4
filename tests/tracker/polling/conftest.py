from tests.tracker.polling.support import account_id, carrier

__all__ = ["account_id", "carrier"]
