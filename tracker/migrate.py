"""Run the Alembic migrations from code (``zelo db upgrade``, tests, demo, benchmarks)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
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
