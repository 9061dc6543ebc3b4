"""Carriers' pushes: the door (``api``) authenticates each push the carrier's own way (``signers``: which
accounts may push), stores it once in one statement (``store``) and answers; ``apply`` merges what it says with the
stored events and writes it through the poll pipeline, parking what it says of shipments Zelo does not know yet
until the ERP sends them; ``service`` applies in the background; ``tasks`` are the scheduled jobs; ``models`` the
tables.

Its front door, for the other packages: :func:`applier_of` (the process's applier: ``apply()``, ``settled()``) and
:class:`PushReport`. (The HTTP router is ``tracker.pushes.api``, loaded by the composition root's ``routers()``.)
"""

from tracker.pushes.apply import PushReport
from tracker.pushes.service import Applier, applier_of

__all__ = ["Applier", "PushReport", "applier_of"]
