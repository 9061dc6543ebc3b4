"""``zelo notify``: deliver what is due now, and preview a message as the customer (or ops) would read it."""

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from notifier.vocabulary import Channel, Trigger
from tracker.commands import console, fail, open_runtime, run, serving_settings, settings

if TYPE_CHECKING:
    from notifier.render import Rendered

app = typer.Typer(help="Customer messages and ops alerts.", no_args_is_help=True)


class PreviewChannel(StrEnum):
    EMAIL = "email"
    WHATSAPP = "whatsapp"


@app.command("dispatch")
def notify_dispatch(
    ctx: typer.Context,
    sla: Annotated[bool, typer.Option("--sla/--no-sla", help="Also queue ops alerts for SLAs about to pass.")] = True,
) -> None:
    """Deliver every notification due now, once, and report."""
    from notifier.alerts import queue_sla_alerts
    from notifier.service import dispatcher_of, outbox_of

    loaded = serving_settings()  # the messages carry the customers' signed links

    async def go() -> Any:
        async with open_runtime(ctx, loaded) as rt:
            if sla:
                async with rt.sessions() as session, session.begin():
                    await queue_sla_alerts(session, outbox_of(rt), rt.clock.now())
            return await dispatcher_of(rt).run_once()

    report = run(go())
    if not report.outcomes:
        console.print("nothing due")
    for (channel, outcome), n in sorted(report.outcomes.items()):
        console.print(f"  {channel}: {outcome} {n}")


@app.command("preview")
def notify_preview(
    ctx: typer.Context,
    trigger: Annotated[Trigger, typer.Argument(help="The message to render.", show_choices=False)],
    shipment: Annotated[
        str,
        typer.Option(
            "--shipment", metavar="ID|CODE", help="The shipment whose data fills it: id, tracking code or external id."
        ),
    ],
    channel: Annotated[
        PreviewChannel, typer.Option(help="E-mail (ops alerts: the ops e-mail) or WhatsApp.")
    ] = PreviewChannel.EMAIL,
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE", help="Write the e-mail's HTML to FILE.")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open the HTML in the browser (written to --out).")] = False,
) -> None:
    """Render a message with a shipment's data and plausible facts, as the customer (or ops) would read it."""
    from notifier.checkin import checkin_links
    from notifier.context import OPS, message_context, preview_facts
    from notifier.render import RenderError, render
    from tracker.shipments import find_shipment

    loaded = settings()
    if trigger in OPS and channel is PreviewChannel.WHATSAPP:
        raise fail("ops alerts go by e-mail or webhook; use --channel email", 2)
    if open_ and out is None:
        raise fail("--open shows the HTML written by --out: give --out FILE as well", 2)
    target = Channel.OPS_EMAIL if trigger in OPS else Channel(channel.value)

    async def go() -> "Rendered":
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session:
            now = rt.clock.now()
            found = await find_shipment(session, shipment)
            if found is None:
                raise LookupError(f"no shipment with id, tracking code or external id {shipment!r}")
            row, facts = await preview_facts(session, found.id, trigger, now)
        links = checkin_links(found.id, settings=loaded, now=now)
        context = message_context(row, facts, settings=loaded, links=links)
        return render(trigger, target, context, templates_dir=loaded.notify_templates_dir)

    try:
        rendered = run(go())
    except (LookupError, RenderError) as exc:
        raise fail(str(exc)) from None
    if rendered.subject is not None:
        console.print(f"Subject: {rendered.subject}", markup=False, highlight=False)
    console.print(f"\n{rendered.text}\n", markup=False, highlight=False)
    if rendered.html is None:
        if out is not None:
            raise fail(f"a {target} message has no HTML; nothing written to {out}")
        return
    if out is None:
        console.print(f"HTML: {len(rendered.html)} characters (--out FILE writes it)", markup=False, highlight=False)
        return
    try:
        out.write_text(rendered.html, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror or exc}") from None
    console.print(f"HTML written to {out}", markup=False, highlight=False)
    if open_:
        import webbrowser

        if not webbrowser.open(out.resolve().as_uri()):
            console.print(f"no browser found; open {out.resolve().as_uri()}", markup=False, highlight=False)
