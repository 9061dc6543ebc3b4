"""Carriers' pushes: the door (``door``) authenticates each push the carrier's own way (``signers``: which
accounts may push), stores it once (``store``) and answers; ``pending`` claims stored pushes a chunk at a time and
``apply`` merges what they say with the stored events and writes it through the poll pipeline, parking what they
say of shipments Zelo does not know yet until the ERP sends them; ``service`` applies in the background; ``tasks``
are the scheduled jobs; ``models`` the tables."""
