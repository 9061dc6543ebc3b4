"""``zelo carriers``: the installed adapters, and a raw carrier response normalized (for debugging)."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from carriers.base import TrackingResult

app = typer.Typer(help="Carrier adapters.", no_args_is_help=True)


@app.command("list")
def carriers_list() -> None:
    """The carriers this installation can track."""
    from carriers.base.registry import carriers

    console = Console(soft_wrap=True, highlight=False)  # one line per carrier, however narrow the terminal
    for spec in carriers().values():
        fields = [*spec.credential_fields, *(f"{f} (optional)" for f in spec.optional_credential_fields)]
        pushes = "; takes pushes" if spec.pushes else ""
        console.print(
            f"[bold]{spec.name}[/bold]  {spec.title}  {spec.default_base_url}  credentials: {', '.join(fields)}{pushes}"
        )


@app.command("parse")
def carriers_parse(
    carrier: str,
    file: Path,
    push: bool = typer.Option(False, "--push", help="FILE is a push (webhook) body, not a tracking response."),
) -> None:
    """Normalize a raw carrier tracking response (or, with --push, a webhook body) read from FILE; print it as JSON."""
    from carriers.base import CarrierError
    from carriers.base.registry import UnknownCarrier
    from carriers.base.registry import get as get_carrier

    try:
        spec = get_carrier(carrier)
        if push and not spec.pushes:
            raise ValueError(f"{spec.name} takes no pushes (it is polled): parse its tracking answers without --push")
        payload = json.loads(file.read_text(encoding="utf-8"))
        results = spec.parse_webhook(payload) if push else spec.parse(payload)
    except (UnknownCarrier, CarrierError, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"results": [result_json(r) for r in results]}, ensure_ascii=False, indent=2))


def result_json(result: "TrackingResult") -> dict[str, Any]:
    """The normalized JSON contract of ``zelo carriers parse``: live events only, oldest first."""
    error = result.error
    return {
        "tracking_code": result.tracking_code,
        "status": result.status.value,
        "expected_delivery": result.expected_delivery.isoformat() if result.expected_delivery else None,
        "error": {"code": error.code, "message": error.message} if error else None,
        "events": [
            {
                "occurred_at": e.occurred_at.isoformat(),
                "code": e.code,
                "status": e.status.value,
                "reason": e.reason.value if e.reason else None,
                "description": e.description,
                "location": e.location,
            }
            for e in result.live_events
        ],
    }
