"""The API fixtures of the ingest tests serve the notifications API too."""

from tests.tracker.ingest.conftest import http, keys  # noqa: F401
