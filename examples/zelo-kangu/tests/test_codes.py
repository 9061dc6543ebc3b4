"""Kangu's code table: it loads through Zelo's CodeTable, means what the codes say, and covers every status."""

import pytest
from carriers.base import Reason, Status

from zelo_kangu.codes import lookup, table


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        ("POSTADO", Status.POSTED, None),
        ("SAIU_PARA_ENTREGA", Status.OUT_FOR_DELIVERY, None),
        ("ENTREGUE", Status.DELIVERED, None),
        ("DESTINATARIO_AUSENTE", Status.DELIVERY_FAILED, Reason.CONSIGNEE_ABSENT),
        ("RECUSADO", Status.RETURNING, Reason.CONSIGNEE_REFUSED),
        ("EXTRAVIADO", Status.LOST, Reason.CARRIER_LOST),
        ("ROUBADO", Status.LOST, Reason.CARRIER_STOLEN),
        ("AVARIADO", Status.IN_TRANSIT, Reason.CARRIER_DAMAGED),
        ("RETIDO_FISCALIZACAO", Status.HELD, Reason.CUSTOMS_INSPECTION),
    ],
)
def test_codes_mean_what_kangu_says(code: str, status: Status, reason: Reason | None) -> None:
    info = table()[code]
    assert (info.status, info.reason) == (status, reason)


def test_every_status_a_carrier_can_report_has_a_code() -> None:
    assert {info.status for info in table().values()} == set(Status) - {Status.PENDING}


def test_codes_are_looked_up_as_kangu_may_write_them() -> None:
    info = lookup(" entregue ")
    assert info is not None and info.code == "ENTREGUE"
    assert lookup("NAO_EXISTE") is None
