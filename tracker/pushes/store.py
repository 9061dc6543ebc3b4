"""Store a received push once, in one round trip: the door's own pool, in autocommit, without a pre-ping (the
session pool's ping and ``BEGIN … COMMIT`` made six round trips of one insert, most of the door's time). A
connection the database dropped (a restart) fails the statement once: it is run again on a fresh one."""

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tracker.db import is_sqlite, make_engine
from tracker.pushes.models import pushes_table
from tracker.runtime import Runtime

# One statement a push: a few connections serve many pushes, and more wait their turn rather than open one (an
# overflow connection is closed when given back: under load the door opened and closed one per push or so)
POOL = {"pool_size": 10, "max_overflow": 0}
_c = pushes_table.c
_COLUMNS = ("carrier", "carrier_account_id", "body_sha256", "body", "results", "received_at", "parked")


@dataclass
class PushStore:
    runtime: Runtime
    engine: AsyncEngine = field(init=False)
    _insert: Any = field(init=False)

    def __post_init__(self) -> None:
        url = self.runtime.settings.database_url
        pool = {} if is_sqlite(url) else POOL
        self.engine = make_engine(url, pre_ping=False, isolation_level="AUTOCOMMIT", **pool)
        insert = sqlite.insert if is_sqlite(url) else postgresql.insert
        self._insert = (  # built once: each push only binds its values (no statement to build and compile)
            insert(pushes_table)
            .values({name: bindparam(name) for name in _COLUMNS})
            .on_conflict_do_nothing(index_elements=["carrier", "body_sha256"])
            .returning(_c.id)
        )

    async def store(self, carrier: str, account_id: int, body: bytes, results: int) -> tuple[int, bool]:
        """The push's id, and whether the same body had been received already (a replay changes nothing)."""
        rt = self.runtime
        digest = hashlib.sha256(body).hexdigest()
        row = {
            "carrier": carrier,
            "carrier_account_id": account_id,
            "body_sha256": digest,
            "body": rt.vault.seal_bytes(body),
            "results": results,
            "received_at": rt.clock.now(),
            "parked": 0,
        }
        push_id = await self._scalar(self._insert, row)
        if push_id is not None:
            return int(push_id), False
        found = await self._scalar(select(_c.id).where(_c.carrier == carrier, _c.body_sha256 == digest), {})
        assert found is not None
        return int(found), True

    async def _scalar(self, statement: Any, params: dict[str, Any]) -> Any:
        try:
            return await self._run(statement, params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return await self._run(statement, params)  # the pool was dropped with that connection: a fresh one

    async def _run(self, statement: Any, params: dict[str, Any]) -> Any:
        async with self.engine.connect() as conn:
            return await conn.scalar(statement, params)

    async def aclose(self) -> None:
        await self.engine.dispose()


def push_store(runtime: Runtime) -> PushStore:
    return runtime.service(PushStore)
