"""Customer notifications and ops alerts: an outbox written with the change that implies them, and a
dispatcher that delivers it through the channels (e-mail, WhatsApp, the ops webhook, wa.me links).

For the other features (read only): the outbox's rows (:class:`Notification`), the customers' delivery
check-ins (:class:`Checkin`) and the file of a check-in photo (:func:`photo_file`); a wa.me message sent by hand
(:func:`mark_link_sent`, refused with :class:`NotQueued` when it is not queued); for the composition
root, the sink every feature tells ops through (:func:`alerts_of`)."""

from notifier.checkin import photo_file
from notifier.clicks import NotQueued, mark_link_sent
from notifier.models import Checkin, Notification
from notifier.service import alerts_of, dispatcher_of, outbox_of

__all__ = [
    "Checkin",
    "NotQueued",
    "Notification",
    "alerts_of",
    "dispatcher_of",
    "mark_link_sent",
    "outbox_of",
    "photo_file",
]
