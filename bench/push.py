"""Benchmark: the carriers' push door ``POST /v1/webhooks/carriers/{carrier}`` of a running ``zelo api``
(``--workers`` uvicorn processes) on PostgreSQL, driven by wrk from a separate process with pre-built pushes.

One Loggi account (webhook user and password) and one Melhor Envio account (app secret), N shipments registered
for them (every tenth a Melhor Envio order). Each shipment's journey comes in three rounds of pushes: a Loggi
push carries 10 packages, each with 1 to 3 new ``trackingHistory`` events (created and collected; in transit;
out for delivery, then delivered or a failed attempt); a Melhor Envio push is one order event (posted, received,
delivered). Every body is distinct. Two phases, each drained before the next:

1. latency: the first pushes at a rate well below the door's capacity (few connections, each pausing between
   pushes; the appliers meanwhile apply them): p50/p99 of the door's answer;
2. load: the rest at many connections: pushes acknowledged per second, and events stored per second, from the
   first push of the phase to the moment the background appliers have applied the last one (the drain after
   wrk's last answer is reported apart).

Each push is sent once (wrk stops when all are answered; the few resent by connections still open at the end are
replays, 200 ``Push-Replayed``, counted apart). Afterwards it checks that every push acknowledged (the ids of the
202 answers) is stored and applied, and that the events stored are exactly the new events the pushes carried
(``ok``). ``server_cpu_us_per_event`` is the uvicorn workers' CPU over the load phase, door and appliers together.
The last line is one JSON object.

    python -m bench.push [--shipments 20000] [--connections 32] [--latency-rate 150] [--workers 2]
"""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.support import free_port, pg_database, start_server
from carriers.loggi.push import basic_authorization
from carriers.melhorenvio.push import sign
from tracker.config import Settings
from tracker.db import make_engine
from tracker.migrate import upgrade
from tracker.polling.accounts import add_account
from tracker.runtime import open_runtime

HERE = Path(__file__).resolve().parent
DOOR = "/v1/webhooks/carriers/"
LOGGI = {"client_id": "ci", "client_secret": "cs", "company_id": "42", "webhook_user": "loja", "webhook_password": "pw"}
ME = {"token": "t", "contact_email": "ops@loja.test", "app_secret": "bench-app-secret"}
ME_EVERY = 10  # every tenth shipment is a Melhor Envio order
PACKAGES = 10  # packages per Loggi push
ROUNDS = 3
LATENCY_PUSHES = 1_500
LATENCY_CONNECTIONS = 4
ORDERS = uuid.UUID("6f1c9e4e-6d3b-4c1a-9a53-0b8c2f1d7e10")
REGISTER = text(
    """
    INSERT INTO shipments (carrier, carrier_account_id, tracking_code, service, shipped_at, promised_delivery_date,
        destination_state, created_at, updated_at, next_poll_at, status, poll_error_count, customer_consent)
    SELECT :carrier, :account, code, :service, :shipped, :promised, 'SP', :now, :now, :next_poll, 'pending', 0, false
    FROM unnest(CAST(:codes AS text[])) AS code
    """
)


@dataclass(frozen=True, slots=True)
class Push:
    path: str
    header: str
    value: str
    body: bytes
    events: int  # new events it carries


def loggi_code(serial: int) -> str:
    return f"BP{serial:010d}LG"


def me_order(serial: int) -> str:
    return str(uuid.uuid5(ORDERS, str(serial)))


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def local(when: datetime) -> str:
    """Melhor Envio's form: Brasília local time without an offset."""
    return (when - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S")


def loggi_history(serial: int, rnd: int, base: datetime) -> list[tuple[str, datetime]]:
    """The new (code, time) pairs of one package in round ``rnd``."""
    t = base + timedelta(hours=10 * rnd, seconds=serial % 3600)
    if rnd == 0:
        return [("1", t), ("2", t + timedelta(hours=3))]
    if rnd == 1:
        return [("3", t + timedelta(minutes=50 * j)) for j in range(1 + serial * 7 % 3)]
    last = "5" if serial % 5 else "7"  # a fifth fail their first attempt (consignee absent)
    return [("4", t), (last, t + timedelta(hours=2))]


def loggi_package(serial: int, rnd: int, base: datetime) -> dict[str, Any]:
    history = [
        {
            "status": {
                "code": code,
                "highLevelStatus": "Atualização",
                "description": "Evento",
                "updatedTime": stamp(t),
            },
            "location": {"city": "São Paulo", "state": "SP"},
        }
        for code, t in loggi_history(serial, rnd, base)
    ]
    return {
        "loggiKey": f"K{serial:025d}",
        "trackingCode": loggi_code(serial),
        "status": history[-1]["status"],
        "location": {"city": "São Paulo", "state": "SP"},
        "promisedDate": (base + timedelta(days=3)).date().isoformat(),
        "trackingHistory": history,
    }


def me_push(serial: int, rnd: int, base: datetime) -> tuple[dict[str, Any], int]:
    """One order event of round ``rnd`` and how many new events it brings (the order's dated milestones, merged
    with what is stored)."""
    t = base + timedelta(hours=10 * rnd, seconds=serial % 3600)
    order = {"id": me_order(serial), "protocol": f"ORD-{serial}", "tracking": f"ME{serial:09d}BR"}
    order |= {"created_at": local(base - timedelta(hours=5)), "paid_at": local(base - timedelta(hours=4))}
    order["posted_at"] = local(base + timedelta(seconds=serial % 3600))
    if rnd == 0:
        return {"event": "order.posted", "data": order | {"status": "posted", "updated_at": order["posted_at"]}}, 3
    if rnd == 1:
        return {"event": "order.received", "data": order | {"status": "received", "updated_at": local(t)}}, 1
    done = order | {"status": "delivered", "delivered_at": local(t), "updated_at": local(t)}
    return {"event": "order.delivered", "data": done}, 1


def pushes(n: int, base: datetime) -> Iterator[Push]:
    """Every push of the run, round after round; within a round Loggi and Melhor Envio pushes interleaved."""
    loggi_auth = basic_authorization(LOGGI["webhook_user"], LOGGI["webhook_password"])
    loggi = [s for s in range(n) if s % ME_EVERY]
    me = [s for s in range(n) if not s % ME_EVERY]
    for rnd in range(ROUNDS):
        made: list[tuple[float, Push]] = []
        groups = [loggi[k : k + PACKAGES] for k in range(0, len(loggi), PACKAGES)]
        for k, group in enumerate(groups):
            body = json.dumps({"packages": [loggi_package(s, rnd, base) for s in group]}, ensure_ascii=False)
            events = sum(len(loggi_history(s, rnd, base)) for s in group)
            made.append((k / len(groups), Push(DOOR + "loggi", "Authorization", loggi_auth, body.encode(), events)))
        for k, serial in enumerate(me):
            payload, events = me_push(serial, rnd, base)
            raw = json.dumps(payload).encode()
            signature = sign(raw, ME["app_secret"])
            made.append((k / len(me), Push(DOOR + "melhorenvio", "X-ME-Signature", signature, raw, events)))
        made.sort(key=lambda item: item[0])
        yield from (push for _, push in made)


def write(path: Path, batch: list[Push]) -> None:
    with path.open("wb") as f:
        for p in batch:
            f.write(f"{p.path}\t{p.header}\t{p.value}\t".encode() + p.body + b"\n")


async def setup(url: str, n: int, now: datetime, base: datetime) -> None:
    """Schema, the two accounts, the shipments (one INSERT … SELECT per carrier)."""
    async with open_runtime(Settings(database_url=url)) as rt:
        await upgrade(rt.engine)
        async with rt.sessions() as session, session.begin():
            accounts = {}
            for carrier, creds in (("loggi", LOGGI), ("melhorenvio", ME)):
                made = await add_account(
                    session,
                    rt.vault,
                    carrier=carrier,
                    name=f"bench-{carrier}",
                    base_url=None,
                    now=now,
                    credentials=creds,
                )
                accounts[carrier] = made.id
            codes = {
                "loggi": [loggi_code(s) for s in range(n) if s % ME_EVERY],
                "melhorenvio": [me_order(s).upper() for s in range(n) if not s % ME_EVERY],
            }
            for carrier, service in (("loggi", "Loggi Express"), ("melhorenvio", "SEDEX")):
                params = {
                    "carrier": carrier,
                    "account": accounts[carrier],
                    "service": service,
                    "shipped": base,
                    "promised": (base + timedelta(days=3)).date(),
                    "now": now,
                    "next_poll": now + timedelta(days=1),  # no poller runs; kept out of the way anyway
                    "codes": codes[carrier],
                }
                await session.execute(REGISTER, params)
        async with rt.engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("VACUUM ANALYZE"))


def wrk(port: int, requests_file: Path, connections: int, timeout_s: int, delay_ms: float) -> dict[str, Any]:
    """wrk's figures, with ``acked``: the push ids of the 202 answers."""
    acked_file = requests_file.with_suffix(".acked")
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{timeout_s}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(HERE / "push.lua"),
            f"http://127.0.0.1:{port}",
        ],
        env=os.environ
        | {
            "ZELO_BENCH_REQUESTS": str(requests_file),
            "ZELO_BENCH_ACKED": str(acked_file),
            "ZELO_BENCH_DELAY_MS": str(round(delay_ms)),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    figures = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    figures["acked"] = [int(n) for n in acked_file.read_text().split()] if acked_file.exists() else []
    return figures


class Database:
    """The bench's own look at the database while the server runs."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return await conn.scalar(text(sql), params)

    async def drained(self, deadline_s: float) -> float:
        """Wait until no push is waiting to be applied; the time.time() it was seen so."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            waiting = await self.scalar(
                "SELECT count(*) FROM carrier_pushes WHERE applied_at IS NULL AND error IS NULL"
            )
            if not waiting:
                return time.time()
            await asyncio.sleep(0.05)
        raise RuntimeError(f"pushes still waiting to be applied after {deadline_s} s")

    async def applied(self, push_ids: list[int]) -> tuple[int, int, int]:
        """Of these pushes: how many are stored, how many applied, how many kept an error."""
        async with self.engine.connect() as conn:
            query = "SELECT applied_at IS NOT NULL, error IS NOT NULL FROM carrier_pushes WHERE id = ANY(:ids)"
            rows = (await conn.execute(text(query), {"ids": push_ids})).all()
        return len(rows), sum(applied for applied, _ in rows), sum(failed for _, failed in rows)


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and its children still running: the uvicorn workers."""
    total = 0.0
    for child in [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]:
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass(frozen=True)
class Phase:
    pushes: list[Push]
    connections: int
    delay_ms: float = 0.0  # each connection's pause after an answer


async def run_phase(db: Database, server: int, port: int, phase: Phase, path: Path) -> dict[str, Any]:
    write(path, phase.pushes)
    cpu_before = cpu_s(server)
    events_before = int(await db.scalar("SELECT count(*) FROM tracking_events"))
    last_push = int(await db.scalar("SELECT coalesce(max(id), 0) FROM carrier_pushes"))
    figures = await asyncio.to_thread(wrk, port, path, phase.connections, 120, phase.delay_ms)
    answered = time.time()
    drained = await db.drained(120)
    cpu = cpu_s(server) - cpu_before
    first = await db.scalar("SELECT min(received_at) FROM carrier_pushes WHERE id > :last", last=last_push)
    events = int(await db.scalar("SELECT count(*) FROM tracking_events")) - events_before
    stored, applied, failed = await db.applied(figures["acked"])
    span = drained - first.timestamp()
    return figures | {
        "pushes": len(phase.pushes),
        "expected_events": sum(p.events for p in phase.pushes),
        "events": events,
        "stored": stored,
        "applied": applied,
        "failed": failed,
        "pushes_per_s": figures["accepted"] / figures["seconds"],
        "events_per_s": events / span,
        "drain_s": drained - answered,
        "span_s": span,
        "server_cpu_s": cpu,
    }


async def measure(url: str, server: int, port: int, phases: list[Phase]) -> list[dict[str, Any]]:
    db = Database(url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return [await run_phase(db, server, port, p, Path(tmp) / f"{k}.tsv") for k, p in enumerate(phases)]
    finally:
        await db.engine.dispose()


def main(n: int, connections: int, latency_rate: float, workers: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    now = datetime.now(UTC).replace(microsecond=0)
    base = now.replace(minute=0, second=0) - timedelta(days=2)
    url = asyncio.run(pg_database("zelo_bench_push"))
    t0 = time.perf_counter()
    asyncio.run(setup(url, n, now, base))
    every = list(pushes(n, base))
    setup_s = time.perf_counter() - t0
    env = {"ZELO_DATABASE_URL": url, "ZELO_LOG_LEVEL": "warning"}
    port = free_port()
    proc = start_server("zelo.app:app_from_env", port, env, workers)
    split = min(LATENCY_PUSHES, len(every) // 4)
    phases = [
        Phase(every[:split], LATENCY_CONNECTIONS, LATENCY_CONNECTIONS * 1000 / latency_rate),
        Phase(every[split:], connections),
    ]
    try:
        latency, load = asyncio.run(measure(url, proc.pid, port, phases))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    acknowledged = latency["accepted"] + load["accepted"]
    stored, applied = latency["stored"] + load["stored"], latency["applied"] + load["applied"]
    events_total, expected = latency["events"] + load["events"], latency["expected_events"] + load["expected_events"]
    return {
        "push_events_per_s": round(load["events_per_s"]),
        "push_p50_ms": round(latency["p50_us"] / 1000, 1),
        "push_p99_ms": round(latency["p99_us"] / 1000, 1),
        "pushes_per_s": round(load["pushes_per_s"]),
        "load_p50_ms": round(load["p50_us"] / 1000, 1),
        "load_p99_ms": round(load["p99_us"] / 1000, 1),
        "acknowledged": acknowledged,
        "stored": stored,
        "applied": applied,
        "failed": latency["failed"] + load["failed"],
        "refused": latency["refused"] + load["refused"] + latency["socket_errors"] + load["socket_errors"],
        "replays": latency["replays"] + load["replays"],
        "events": load["events"],
        "events_total": events_total,
        "expected_events": expected,
        "ok": acknowledged == stored == applied and events_total == expected,  # every push acknowledged is applied
        "server_cpu_us_per_event": round(load["server_cpu_s"] / load["events"] * 1e6),
        "load_pushes": load["pushes"],
        "load_span_s": round(load["span_s"], 2),
        "drain_s": round(load["drain_s"], 2),
        "latency_pushes_per_s": round(latency["pushes_per_s"]),
        "latency_events_per_s": round(latency["events_per_s"]),
        "shipments": n,
        "workers": workers,
        "connections": connections,
        "latency_connections": LATENCY_CONNECTIONS,
        "setup_s": round(setup_s, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections of the load phase")
    parser.add_argument("--latency-rate", type=float, default=150, help="pushes/s offered in the latency phase")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes")
    args = parser.parse_args()
    print(json.dumps(main(args.shipments, args.connections, args.latency_rate, args.workers)))
