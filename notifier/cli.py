"""``zelo notify``: deliver what is due now, and preview a message as the customer (or ops) would read it."""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from notifier.alerts import queue_sla_alerts
from notifier.service import dispatcher_of, outbox_of
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
    trigger: Annotated[Trigger, typer.Argument(help="The message to render.")],
    shipment: Annotated[int, typer.Option("--shipment", help="The shipment whose data fills it.")],
    channel: Annotated[PreviewChannel, typer.Option(help="E-mail (ops alerts: the ops e-mail) or WhatsApp.")] = (
        PreviewChannel.EMAIL
    ),
) -> None:
    """Render a message with a shipment's data and plausible facts, as the customer (or ops) would read it."""
    from notifier.checkin import checkin_links
    from notifier.context import OPS, message_context, preview_facts
    from notifier.render import RenderError, render

    loaded = settings()
    if trigger in OPS and channel is PreviewChannel.WHATSAPP:
        raise fail("ops alerts go by e-mail or webhook; use --channel email", 2)
    target = Channel.OPS_EMAIL if trigger in OPS else Channel(channel.value)

    async def go() -> "Rendered":
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session:
            now = rt.clock.now()
            row, facts = await preview_facts(session, shipment, trigger, now)
        context = message_context(row, facts, settings=loaded, links=checkin_links(shipment, settings=loaded, now=now))
        return render(trigger, target, context, templates_dir=loaded.notify_templates_dir)

    try:
        rendered = run(go())
    except (LookupError, RenderError) as exc:
        raise fail(str(exc)) from None
    if rendered.subject is not None:
        console.print(f"Subject: {rendered.subject}", markup=False, highlight=False)
    console.print(f"\n{rendered.text}\n", markup=False, highlight=False)
    if rendered.html is not None:
        console.print(f"HTML: {len(rendered.html)} characters", markup=False, highlight=False)
