"""The few SQL fragments SQLite and PostgreSQL spell differently."""

from dataclasses import dataclass

# A day is a day in Brasília time (UTC-3 all year since 2019: Brazil keeps no daylight saving time).
OFFSET_HOURS = 3


@dataclass(frozen=True)
class Dialect:
    name: str

    def day(self, instant: str) -> str:
        """The Brasília date of a stored UTC instant."""
        if self.name == "sqlite":
            return f"date({instant}, '-{OFFSET_HOURS} hours')"
        return f"CAST(({instant} AT TIME ZONE 'UTC') - INTERVAL '{OFFSET_HOURS} hours' AS date)"

    def hours(self, later: str, earlier: str) -> str:
        if self.name == "sqlite":
            return f"((julianday({later}) - julianday({earlier})) * 24.0)"
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0)"

    def days(self, later: str, earlier: str) -> str:
        """Whole calendar days between two dates."""
        if self.name == "sqlite":
            return f"CAST(round(julianday({later}) - julianday({earlier})) AS INTEGER)"
        return f"({later} - {earlier})"

    def ceil(self, value: str) -> str:
        if self.name == "sqlite":
            return f"(CAST({value} AS INTEGER) + ({value} > CAST({value} AS INTEGER)))"
        return f"CAST(ceil({value}) AS INTEGER)"

    def locked_in_id_order(self) -> str:
        """A subquery's rows locked in id order (SQLite has one writer: nothing to order)."""
        return "" if self.name == "sqlite" else " ORDER BY id FOR UPDATE"

    def least(self, a: str, b: str) -> str:
        return f"min({a}, {b})" if self.name == "sqlite" else f"least({a}, {b})"
