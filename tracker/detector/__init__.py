"""The detector: turns where a parcel is (and how long it has been silent) into incidents (ocorrências).

``rules`` are pure functions of a shipment's facts; ``service`` reconciles their findings with the stored
incidents (open, escalate, reopen, resolve) in the caller's transaction; ``sweep`` finds the shipments that
time alone may have put in trouble, with indexed queries, page by page.
"""
