"""The FastAPI application (``zelo api``)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tracker import openapi, overload
from tracker.access import AccessLog
from tracker.clock import Clock
from tracker.config import Settings
from tracker.db import is_sqlite, make_engine
from tracker.ingest.batcher import GroupCommit
from tracker.ingest.state import IngestState
from tracker.problems import install
from tracker.runtime import freeze_startup_heap
from tracker.signatures import parse_secrets
from tracker.web import KeyCache
from zelo import features


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    secrets = settings.erp_webhook_secrets
    keys = parse_secrets(secrets.get_secret_value()) if secrets else []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with features.open_runtime(settings, clock) as runtime:
            ingest_engine = make_engine(settings.database_url, pre_ping=False)
            slots = 1 if is_sqlite(settings.database_url) else 2  # SQLite has one writer at a time
            batcher = GroupCommit(ingest_engine, runtime.clock, slots=slots)
            await batcher.start()
            freeze_startup_heap()
            app.state.runtime = runtime
            app.state.keys = KeyCache(runtime.sessions, runtime.clock)
            app.state.ingest = IngestState(batcher, keys, settings.max_body_bytes)
            try:
                yield
            finally:
                await batcher.close()
                await ingest_engine.dispose()

    app = FastAPI(
        title="Zelo",
        version="0.1.0",
        summary="Shipment monitoring and carrier claims: the ERP's door and the shipments API.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load Swagger UI and ReDoc from a CDN: tracker.openapi serves its own
        redoc_url=None,
    )
    install(app)
    overload.install(app)
    app.add_middleware(overload.Admission, limit=settings.max_in_flight, wait_s=settings.admission_wait_s)
    if settings.log_level in ("debug", "info"):  # outermost: it times and logs the 503s of admission too
        app.add_middleware(AccessLog, as_json=settings.log_json)
    for router in features.routers():
        app.include_router(router)
    openapi.install(app, "Zelo")
    return app


def app_from_env() -> FastAPI:
    """The app for ``zelo api`` (uvicorn factory): settings from the environment and ``.env``."""
    from tracker import logs
    from tracker.config import get_settings

    settings = get_settings()
    logs.configure(settings.log_level, settings.log_json)
    return create_app(settings)
