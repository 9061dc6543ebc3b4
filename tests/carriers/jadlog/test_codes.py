"""The Jadlog status table: it loads, covers what Jadlog is known to say, and folds status texts stably."""

import pytest

from carriers.base import Reason, Status
from carriers.jadlog.codes import event_code, lookup, table
from carriers.sandbox.scenarios import load_scenarios
from carriers.sandbox.speak import meaning

CONFIRMED = {
    "EMISSAO": Status.POSTED,
    "ENTRADA": Status.IN_TRANSIT,
    "TRANSFERENCIA": Status.IN_TRANSIT,
    "EM ROTA": Status.OUT_FOR_DELIVERY,
    "ENTREGUE": Status.DELIVERED,
}


def test_the_statuses_jadlog_is_known_to_use_mean_what_they_say() -> None:
    assert {code: table()[code].status for code in CONFIRMED} == CONFIRMED


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        ("DESTINATARIO AUSENTE", Status.DELIVERY_FAILED, Reason.CONSIGNEE_ABSENT),
        ("ENDERECO NAO LOCALIZADO", Status.DELIVERY_FAILED, Reason.ADDRESS_PROBLEM),
        ("RECUSADO", Status.RETURNING, Reason.CONSIGNEE_REFUSED),
        ("DEVOLUCAO", Status.RETURNING, None),
        ("DEVOLVIDO", Status.RETURNED, None),
        ("EXTRAVIO", Status.LOST, Reason.CARRIER_LOST),
        ("ROUBO", Status.LOST, Reason.CARRIER_STOLEN),
        ("AVARIA", Status.IN_TRANSIT, Reason.CARRIER_DAMAGED),
        ("DISPONIVEL PARA RETIRADA", Status.AWAITING_PICKUP, None),
    ],
)
def test_incident_statuses_carry_their_reason(code: str, status: Status, reason: Reason | None) -> None:
    info = table()[code]
    assert (info.status, info.reason) == (status, reason)


def test_every_status_of_every_built_in_scenario_is_sayable() -> None:
    """The sandbox says a scenario event with the first row of this table with the same meaning."""
    missing = set()
    for scenario in load_scenarios().values():
        for event in scenario.events:
            try:
                status, _ = meaning(event)
            except ValueError:  # the unknown_code scenario's event, unknown to Correios too
                continue
            if table().first_for(status, None) is None:
                missing.add(status)
    assert missing == set()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("EM ROTA", "EM ROTA"),
        ("  em   rota ", "EM ROTA"),
        ("Emissão", "EMISSAO"),
        ("TRANSFERÊNCIA", "TRANSFERENCIA"),
        ("", "?"),
        (None, "?"),
        (7, "?"),
    ],
)
def test_status_texts_fold_to_one_code(text: object, code: str) -> None:
    assert event_code(text) == code


def test_a_long_status_text_keeps_a_distinct_code_within_32_characters() -> None:
    first = event_code("MERCADORIA RETIDA AGUARDANDO DOCUMENTACAO DO REMETENTE")
    second = event_code("MERCADORIA RETIDA AGUARDANDO DOCUMENTACAO DO DESTINATARIO")
    assert len(first) == len(second) == 32
    assert first != second and first.startswith("MERCADORIA RETIDA AGUAR~")
    assert event_code("MERCADORIA RETIDA AGUARDANDO DOCUMENTACAO DO REMETENTE") == first


def test_lookup_folds_before_matching() -> None:
    info = lookup("Em rota")
    assert info is not None and info.status is Status.OUT_FOR_DELIVERY
    assert lookup("SAIU PARA O ESPACO") is None
