"""The API fixtures of the ingest tests (an app on the test database, API keys) serve the incidents API too."""

from tests.tracker.ingest.conftest import http, keys  # noqa: F401
