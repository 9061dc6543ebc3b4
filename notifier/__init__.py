"""Customer notifications and ops alerts: an outbox written with the change that implies them, and a
dispatcher that delivers it through the channels (e-mail, WhatsApp, the ops webhook, wa.me links)."""

from notifier.service import dispatcher_of, outbox_of

__all__ = ["dispatcher_of", "outbox_of"]
