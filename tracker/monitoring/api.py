"""``GET /metrics``: Prometheus' text format, for an API key with the ``metrics`` scope (a scraper's key reads
nothing else). The gauges are read from the database at each scrape, in one read-only session; the queue's
depth from Redis in scaled mode."""

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from tracker.probes import Gauge, Sample, render
from tracker.web import Principal, Route, needs, responses, runtime


def router(gauges: Sequence[Gauge]) -> APIRouter:
    routes = APIRouter(route_class=Route)

    @routes.get(
        "/metrics",
        response_class=Response,
        responses=responses(401, 403) | {200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
        summary="Prometheus metrics: poll lag, due polls, queue depth, jobs, carrier errors and circuits, outbox, "
        "claims near their deadline",
    )
    async def metrics(request: Request, who: Annotated[Principal, needs("metrics")]) -> Response:
        rt = runtime(request)
        now = rt.clock.now()
        samples: list[Sample] = []
        async with rt.sessions() as session:
            for gauge in gauges:
                samples += await gauge(session, now)
        if rt.redis is not None:
            from tracker.queue import QUEUE

            depth = await rt.redis.zcard(QUEUE)
            samples.append(Sample("zelo_queue_depth", "Jobs queued on Redis (waiting or running).", depth))
        return Response(render(samples), media_type=CONTENT_TYPE_LATEST)

    return routes
