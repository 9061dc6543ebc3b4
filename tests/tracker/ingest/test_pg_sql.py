"""The SQL texts ``pg.py`` builds from column tuples, pinned by ``pg_sql.sql``, so that a change to them shows in
review. There, each statement follows its ``-- NAME`` line, its lines joined by one space each. After an intended
change, rewrite the file with ``python -m tests.tracker.ingest.test_pg_sql`` and review its diff."""

import re
import textwrap
from pathlib import Path

from tracker.ingest import pg

EXPECTED = Path(__file__).with_name("pg_sql.sql")
NAMES = ("ACCOUNTS", "LOOKUP", "STORE", "UPDATE", "RESET", "DELETE_EVENTS", "REVISION")


def expected() -> dict[str, str]:
    blocks = re.split(r"^-- (\w+)\n", EXPECTED.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]
    return {name: " ".join(text.strip().splitlines()) for name, text in zip(blocks[::2], blocks[1::2], strict=True)}


def test_pg_statements_match_the_checked_in_text() -> None:
    assert expected() == {name: getattr(pg, name) for name in NAMES}


def _lines(sql: str) -> str:
    """A line per clause, long ones wrapped (each line break stands for one space)."""
    clauses = re.split(r" (?=(?:SELECT|FROM|JOIN|WHERE|UNION ALL|INSERT INTO|SET) )", sql)
    wrap = textwrap.TextWrapper(width=110, break_long_words=False, break_on_hyphens=False)
    return "\n".join(line for clause in clauses for line in wrap.wrap(clause))


if __name__ == "__main__":
    EXPECTED.write_text("\n".join(f"-- {name}\n{_lines(getattr(pg, name))}\n" for name in NAMES), encoding="utf-8")
