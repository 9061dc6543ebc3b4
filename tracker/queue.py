"""The queue seam of scaled mode: jobs handed to arq on Redis (``ZELO_REDIS_URL``), after the caller's commit.

Jobs carry ids only and are serialized as JSON (never pickle). A job id is made of its name and arguments
(``tracker.runtime.job_id``: "poll_due:period=1796300040:slot=0"), so queueing it twice while it waits or runs
queues it once.
"""

import json
from dataclasses import replace
from typing import Any

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

QUEUE = "zelo:queue"  # the one queue (a sorted set) every worker reads; health key "zelo:queue:health-check"


def redis_settings(url: str) -> RedisSettings:
    """``url``'s settings, retrying a connection for 30 s and each command for about as long (backing off up to
    2 s between tries): a worker rides out a Redis restart instead of dying."""
    return replace(
        RedisSettings.from_dsn(url),
        conn_retries=30,
        conn_retry_delay=1,
        retry_on_timeout=True,
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        retry=Retry(ExponentialBackoff(cap=2, base=0.1), retries=20),
    )


async def healthy(url: str) -> bool:
    """Whether a worker reported itself in the last ``health_check_interval`` + 1 s (``zelo worker --check``):
    one try, no retry, so a probe answers at once; Redis unreachable raises ``Unreachable``."""
    from arq.worker import async_check_health

    once = replace(RedisSettings.from_dsn(url), conn_retries=0)
    try:
        return await async_check_health(once, None, QUEUE) == 0
    except (RedisError, OSError) as exc:
        raise Unreachable(f"Redis at {once.host}:{once.port} cannot be reached ({type(exc).__name__})") from None


class Unreachable(Exception):
    """Redis did not answer (the message names its host and port, never a password)."""


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


def loads(raw: bytes) -> Any:
    return json.loads(raw)


async def open_pool(url: str) -> ArqRedis:
    return await create_pool(
        redis_settings(url), default_queue_name=QUEUE, job_serializer=dumps, job_deserializer=loads
    )
