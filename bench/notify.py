"""Benchmark: one dispatcher process delivers 10,000 queued e-mail notifications to a local SMTP server
(aiosmtpd, in its own process) over a reused connection, on PostgreSQL. Prints messages per second and the
p50/p99 time from the dispatcher handing a message to the channel up to the server accepting it. The last
line is one JSON object.

    python -m bench.notify [--messages 10000]
"""

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, func, select, text

from bench.support import bench_account, free_port, pg_database
from notifier.channels.base import Handed, Outgoing, Sent, unrecorded
from notifier.channels.email import EmailChannel
from notifier.dispatcher import Dispatcher
from notifier.models import Notification
from notifier.vocabulary import Channel
from tracker import logs
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.migrate import upgrade
from tracker.runtime import open_runtime

NOW = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)  # midday in Brasília: no quiet hours
QUEUE = text(
    """
    INSERT INTO shipments (carrier, carrier_account_id, tracking_code, created_at, updated_at, status,
        poll_error_count, customer_consent, customer_email, customer_name, destination_state)
    SELECT 'correios', CAST(:account AS bigint), 'BN' || lpad(g::text, 9, '0') || 'BR', CAST(:now AS timestamptz),
        CAST(:now AS timestamptz), 'in_transit', 0, true, 'cliente' || g || '@example.com', 'Cliente ' || g, 'SP'
    FROM generate_series(1, CAST(:n AS integer)) AS g;
    INSERT INTO notifications (dedupe_key, shipment_id, trigger, channel, status, facts, created_at, due_at, attempts)
    SELECT 'bench:' || id, id, 'posted', 'email', 'pending', '{}', CAST(:now AS timestamptz),
        CAST(:now AS timestamptz), 0
    FROM shipments
    """
)


class Timed:
    """Wraps the e-mail channel to time each message from being taken up to being accepted."""

    def __init__(self, inner: EmailChannel) -> None:
        self.inner, self.name, self.supports_idempotency = inner, inner.name, inner.supports_idempotency
        self.started: dict[int, float] = {}
        self.latencies: list[float] = []

    async def send(self, message: Outgoing, handed: Handed = unrecorded) -> Sent:
        self.started[message.notification_id] = time.perf_counter()
        sent = await self.inner.send(message, handed)
        self.latencies.append(time.perf_counter() - self.started.pop(message.notification_id))
        return sent

    async def aclose(self) -> None:
        await self.inner.aclose()


async def run(n: int) -> dict[str, Any]:
    logs.configure("warning")  # as in production: a line per message would be the bench's biggest cost
    port = free_port()
    server = subprocess.Popen(  # noqa: ASYNC220 - a separate process on purpose: its CPU is not the dispatcher's
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"]
    )
    try:
        url = await pg_database("zelo_bench_notify")
        async with open_runtime(Settings(database_url=url), SimulatedClock(NOW)) as rt:
            await upgrade(rt.engine)
            async with rt.engine.begin() as conn:
                account = await bench_account(conn, NOW)
                for statement in QUEUE.text.split(";"):
                    if statement.strip():
                        await conn.execute(text(statement), {"account": account, "now": NOW, "n": n})
            await asyncio.sleep(0.5)  # the SMTP server is up by now
            email = Timed(EmailChannel(f"smtp://127.0.0.1:{port}", "Loja <loja@example.com>"))

            async def compose(row: Row[Any], s: Row[Any], now: datetime) -> Outgoing:
                text_body = f"Olá {s.customer_name}, seu pedido foi postado: {s.tracking_code}"
                return Outgoing(row.id, row.dedupe_key, s.customer_email, "Seu pedido foi postado", text_body)

            dispatcher = Dispatcher(rt.sessions, rt.clock, {Channel.EMAIL: email}, compose, lambda n, s: [], batch=500)
            cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            report = await dispatcher.run_once()
            elapsed, cpu1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
            await email.aclose()
            async with rt.sessions() as session:
                sent = await session.scalar(select(func.count()).where(Notification.status == "sent"))
    finally:
        server.terminate()
        server.wait()
    lat = sorted(email.latencies)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "messages": n,
        "sent": sent,
        "seconds": round(elapsed, 2),
        "messages_per_s": round(report.total("sent") / elapsed),
        "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
        "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1),
        "cpu_us_per_message": round(cpu / n * 1e6),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    print(json.dumps(asyncio.run(run(parser.parse_args().messages))))
