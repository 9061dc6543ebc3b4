"""The runtime: a neutral container that keeps one object per factory, closes them, and runs a job by name;
the composition root wires every feature into it."""

import subprocess
import sys
from pathlib import Path
from typing import Any

from notifier import dispatcher_of, outbox_of
from notifier.outbox import Outbox
from tracker.config import Settings
from tracker.detector import detector_of
from tracker.polling import poller_of
from tracker.runtime import Runtime, open_runtime, runtime_of
from zelo import features


def _settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/rt.db")  # type: ignore[call-arg]


class _Closable:
    def __init__(self) -> None:
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


async def test_a_service_is_made_once_per_process_and_closed_with_the_runtime(tmp_path: Path) -> None:
    made: list[Runtime] = []

    def make(runtime: Runtime) -> _Closable:
        made.append(runtime)
        return _Closable()

    async with open_runtime(_settings(tmp_path)) as rt:
        first = rt.service(make)
        assert rt.service(make) is first and made == [rt]
    assert first.closed == 1


async def test_a_bare_runtime_knows_no_feature(tmp_path: Path) -> None:
    async with open_runtime(_settings(tmp_path)) as rt:
        assert rt.listeners == [] and rt.jobs == {}
        assert detector_of(rt).listeners == []  # nothing queues notifications


async def test_the_root_wires_the_outbox_claims_alerts_and_every_scheduled_job(tmp_path: Path) -> None:
    from claims import Claims, claims_of

    async with features.open_runtime(_settings(tmp_path)) as rt:
        assert [type(x) for x in rt.listeners] == [Outbox, Claims] and rt.listeners[0] is outbox_of(rt)
        assert rt.listeners[1] is claims_of(rt) and rt.alert is not None  # ops alerts go through the notifier
        assert detector_of(rt).listeners is rt.listeners  # the detector tells what the root registered
        assert poller_of(rt).detector is detector_of(rt)
        assert set(rt.jobs) == {entry.name for entry in features.SCHEDULE}
        assert dispatcher_of(rt) is dispatcher_of(rt)


async def test_enqueue_runs_the_named_job_in_process_with_the_runtime(tmp_path: Path) -> None:
    seen: list[tuple[Runtime, dict[str, Any]]] = []

    async def job(ctx: dict[str, Any], **kwargs: Any) -> None:
        seen.append((runtime_of(ctx), kwargs))

    async with open_runtime(_settings(tmp_path)) as rt:
        rt.jobs["job"] = job
        await rt.enqueue("job", shipment_id=7)
        assert seen == [(rt, {"shipment_id": 7})]


def test_a_batch_process_freezes_its_startup_heap_once_and_collects_its_young_less_often() -> None:
    """In a process of its own: freezing is for good, and the test run's collector must stay as it is."""
    script = (
        "import gc\n"
        "from tracker.runtime import BATCH_YOUNG_GC, freeze_startup_heap\n"
        "default = gc.get_threshold()\n"
        "freeze_startup_heap(batches=True)\n"
        "frozen = gc.get_freeze_count()\n"
        "assert frozen > 0 and gc.get_threshold() == (BATCH_YOUNG_GC, *default[1:])\n"
        "freeze_startup_heap()\n"
        "assert gc.get_freeze_count() == frozen and gc.get_threshold()[0] == BATCH_YOUNG_GC\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).resolve().parents[2])
