"""The parser on an answer the sandbox gave for every scenario (at two, six and forty days), against the results
recorded from it (``sandbox_answer.json``): every field of every result and event, so a faster parser parses the
same. The answer is stored beside the results, so a change to the sandbox does not move this test."""

import json
from pathlib import Path
from typing import Any

from carriers.base import TrackingResult
from carriers.correios.parse import parse

RECORDED = Path(__file__).with_name("sandbox_answer.json")


def as_json(result: TrackingResult) -> dict[str, Any]:
    error = result.error
    return {
        "tracking_code": result.tracking_code,
        "expected_delivery": result.expected_delivery.isoformat() if result.expected_delivery else None,
        "error": [error.code, error.message, error.final] if error else None,
        "problems": list(result.problems),
        "events": [
            {
                "occurred_at": [e.occurred_at.isoformat(), str(e.occurred_at.tzinfo)],
                "code": e.code,
                "status": e.status.value,
                "reason": e.reason.value if e.reason else None,
                "description": e.description,
                "location": e.location,
                "detail": e.detail,
                "pickup_deadline": [e.pickup_deadline.isoformat(), str(e.pickup_deadline.tzinfo)]
                if e.pickup_deadline
                else None,
                "known_code": e.known_code,
                "voided": e.voided,
            }
            for e in result.events
        ],
    }


def test_the_sandbox_answer_parses_to_the_recorded_results() -> None:
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    results = parse(recorded["answer"])
    assert [as_json(r) for r in results] == recorded["results"]
    for result, obj in zip(results, recorded["answer"]["objetos"], strict=True):  # each event keeps its own raw
        assert sorted(id(e.raw) for e in result.events) == sorted(id(raw) for raw in obj.get("eventos") or [])
    assert any(e.voided for r in results for e in r.events) and any(not e.known_code for r in results for e in r.events)
    assert any(r.error for r in results) and any(e.pickup_deadline for r in results for e in r.events)
