"""Run the Alembic migrations from code (``zelo db upgrade``, tests, demo, benchmarks), and say whether a
database is at the revision this code needs (every other command checks before its work)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.attributes["url"] = url
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision``."""

    def run(connection: object) -> None:
        cfg = alembic_config(str(engine.url.render_as_string(hide_password=False)))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # a migration that rebuilds a table (SQLite's ALTER) drops the old one: with foreign keys on, that
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # would cascade to every row referring to it
            await connection.commit()  # (no transaction is open yet: the pragma applies)
        try:
            async with connection.begin():
                await connection.run_sync(run)
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"the migration left {len(broken)} rows whose foreign key points nowhere")
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()
    async with engine.begin() as connection:
        await connection.run_sync(run)


def shown_url(url: str) -> str:
    """``url`` without its user and password, to name a database in a message."""
    return make_url(url)._replace(username=None, password=None).render_as_string(hide_password=False)


def missing_file(url: str) -> Path | None:
    """The SQLite file ``url`` names, when it does not exist (connecting would create an empty one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.query.get("mode") == "memory" or parsed.database.startswith("file:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


async def schema_problem(engine: AsyncEngine) -> str | None:
    """Why the database behind ``engine`` cannot serve this code (one line naming what to do), or None."""
    where = f"database at {shown_url(engine.url.render_as_string(hide_password=False))}"
    if (path := missing_file(engine.url.render_as_string(hide_password=False))) is not None:
        return f"{where} does not exist (no file {path}): run `zelo db upgrade` to create it"
    heads = set(ScriptDirectory.from_config(alembic_config("")).get_heads())

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(current)
    except (OSError, DBAPIError) as exc:  # refused, no such database, authentication failed
        why = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return f"{where} cannot be opened ({why[0] if why else type(exc).__name__})"
    if found == heads:
        return None
    if not found:
        return f"{where} is not migrated: run `zelo db upgrade`"
    script = ScriptDirectory.from_config(alembic_config(""))
    known = {rev.revision for rev in script.walk_revisions()}
    if found - known:
        return (
            f"{where} is at revision {', '.join(sorted(found))}, which this version of Zelo does not know "
            f"(it needs {', '.join(sorted(heads))}): was it migrated by a newer version?"
        )
    return (
        f"{where} is not migrated: run `zelo db upgrade` "
        f"(it is at revision {', '.join(sorted(found))}, this version needs {', '.join(sorted(heads))})"
    )
