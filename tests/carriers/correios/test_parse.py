"""The pure Correios parser, on plain dicts shaped like SRO Rastro REST answers."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from carriers.base import ContractError, Reason, Status
from carriers.correios.parse import parse

BRT = ZoneInfo("America/Sao_Paulo")


def ev(codigo: str, tipo: str, when: str, descricao: str = "", **extra: object) -> dict[str, object]:
    return {
        "codigo": codigo,
        "tipo": tipo,
        "dtHrCriado": when,
        "descricao": descricao or f"{codigo} {tipo}",
        "unidade": {"tipo": "Agência dos Correios", "endereco": {"cidade": "SAO PAULO", "uf": "SP"}},
        **extra,
    }


def obj(code: str, *events: dict[str, object], **extra: object) -> dict[str, object]:
    return {"codObjeto": code, "dtPrevista": "2026-11-06T23:59:59", "eventos": list(events), **extra}


def payload(*objects: dict[str, object]) -> dict[str, object]:
    return {"objetos": list(objects), "quantidade": len(objects), "resultado": "Todos os Eventos"}


def test_events_come_out_oldest_first_with_type_from_codigo_and_number_from_tipo() -> None:
    [result] = parse(
        payload(
            obj(
                "SS000000017BR",
                ev("BDE", "01", "2026-11-05T14:03:00", "Objeto entregue ao destinatário"),
                ev("OEC", "01", "2026-11-05T08:10:00", "Objeto saiu para entrega ao destinatário"),
                ev("PO", "01", "2026-11-02T10:00:00", "Objeto postado"),
            )
        )
    )
    assert [e.code for e in result.events] == ["PO-01", "OEC-01", "BDE-01"]
    assert [e.status for e in result.events] == [Status.POSTED, Status.OUT_FOR_DELIVERY, Status.DELIVERED]
    assert result.status is Status.DELIVERED
    assert result.expected_delivery == date(2026, 11, 6)
    assert result.events[0].occurred_at == datetime(2026, 11, 2, 10, 0, tzinfo=BRT)
    assert result.events[0].location == "SAO PAULO/SP"
    assert result.error is None and result.problems == ()


def test_problem_codes_carry_their_reason() -> None:
    [lost, stolen, damaged] = parse(
        payload(
            obj("SS000000017BR", ev("BDE", "80", "2026-11-04T10:00:00"), ev("PO", "01", "2026-11-02T10:00:00")),
            obj("SS000000025BR", ev("BDI", "50", "2026-11-04T10:00:00"), ev("PO", "01", "2026-11-02T10:00:00")),
            obj("SS000000034BR", ev("BDR", "28", "2026-11-04T10:00:00"), ev("PO", "01", "2026-11-02T10:00:00")),
        )
    )
    assert (lost.status, lost.events[-1].reason) == (Status.LOST, Reason.CARRIER_LOST)
    assert (stolen.status, stolen.events[-1].reason) == (Status.LOST, Reason.CARRIER_STOLEN)
    assert damaged.events[-1].reason is Reason.CARRIER_DAMAGED


def test_est_voids_the_event_before_it_and_itself() -> None:
    [result] = parse(
        payload(
            obj(
                "SS000000017BR",
                ev("EST", "01", "2026-11-04T11:00:00", "Favor desconsiderar a informação anterior"),
                ev("BDE", "01", "2026-11-04T10:00:00", "Objeto entregue ao destinatário"),
                ev("RO", "01", "2026-11-03T10:00:00", "Objeto em trânsito"),
                ev("PO", "01", "2026-11-02T10:00:00", "Objeto postado"),
            )
        )
    )
    assert [(e.code, e.voided) for e in result.events] == [
        ("PO-01", False),
        ("RO-01", False),
        ("BDE-01", True),
        ("EST-01", True),
    ]
    assert result.status is Status.IN_TRANSIT
    assert [e.code for e in result.live_events] == ["PO-01", "RO-01"]


def test_sro_020_keeps_polling_and_sro_019_is_final() -> None:
    not_yet, invalid = parse(
        payload(
            {
                "codObjeto": "SS000000017BR",
                "mensagem": "SRO-020: Objeto não encontrado na base de dados dos Correios.",
            },
            {"codObjeto": "SS000000025BR", "mensagem": "SRO-019: Objeto inválido"},
        )
    )
    assert not_yet.error is not None and (not_yet.error.code, not_yet.error.final) == ("SRO-020", False)
    assert invalid.error is not None and (invalid.error.code, invalid.error.final) == ("SRO-019", True)
    assert not_yet.status is Status.PENDING and not_yet.events == ()


def test_unknown_pair_maps_to_the_current_status_and_is_reported() -> None:
    [result] = parse(
        payload(
            obj(
                "SS000000017BR",
                ev("BDE", "99", "2026-11-03T10:00:00", "Evento novo"),
                ev("PO", "01", "2026-11-02T10:00:00", "Objeto postado"),
            )
        )
    )
    unknown = result.events[-1]
    assert (unknown.code, unknown.known_code, unknown.status, unknown.reason) == (
        "BDE-99",
        False,
        Status.POSTED,
        None,
    )
    assert len(result.problems) == 1 and "BDE-99" in result.problems[0] and "Evento novo" in result.problems[0]


def test_event_without_date_is_skipped_and_reported_others_kept() -> None:
    [result] = parse(
        payload(
            obj(
                "SS000000017BR",
                ev("OEC", "01", "", "Objeto saiu para entrega ao destinatário"),
                ev("RO", "01", "não é data"),
                ev("PO", "01", "2026-11-02T10:00:00", "Objeto postado"),
            )
        )
    )
    assert [e.code for e in result.events] == ["PO-01"]
    assert len(result.problems) == 2
    [no_date, bad_date] = sorted(result.problems, key=lambda p: "OEC-01" not in p)
    assert "OEC-01" in no_date and "dtHrCriado" in no_date
    assert "RO-01" in bad_date and "'não é data'" in bad_date


def test_pickup_deadline_is_read() -> None:
    [result] = parse(
        payload(
            obj(
                "SS000000017BR",
                ev(
                    "LDI",
                    "01",
                    "2026-11-05T09:00:00",
                    "Objeto aguardando retirada",
                    dtLimiteRetirada="2026-11-12T18:00:00",
                ),
                ev("PO", "01", "2026-11-02T10:00:00"),
            )
        )
    )
    assert result.status is Status.AWAITING_PICKUP
    assert result.events[-1].pickup_deadline == datetime(2026, 11, 12, 18, 0, tzinfo=BRT)


def test_a_bad_pickup_deadline_is_a_problem_and_the_event_is_kept() -> None:
    bad = ev("LDI", "01", "2026-11-05T09:00:00", "Objeto aguardando retirada", dtLimiteRetirada="12/11/2026 18h")
    [result] = parse(payload(obj("SS000000017BR", bad, ev("PO", "01", "2026-11-02T10:00:00"))))
    assert result.status is Status.AWAITING_PICKUP and result.events[-1].pickup_deadline is None
    assert result.problems == (
        "event LDI-01 has dtLimiteRetirada '12/11/2026 18h', expected YYYY-MM-DDTHH:MM:SS; no pickup deadline kept",
    )


def test_bad_dtprevista_is_a_problem_not_a_crash() -> None:
    [result] = parse(payload(obj("SS000000017BR", ev("PO", "01", "2026-11-02T10:00:00"), dtPrevista="amanhã")))
    assert result.expected_delivery is None
    assert "dtPrevista 'amanhã'" in result.problems[0]


@pytest.mark.parametrize("bad", [[], "x", {"objeto": []}, {"objetos": "none"}, None])
def test_payload_without_objetos_list_is_a_contract_error(bad: object) -> None:
    with pytest.raises(ContractError, match="objetos"):
        parse(bad)


def test_malformed_objects_do_not_hide_the_good_ones() -> None:
    results = parse(
        payload(
            {"sem": "código"},
            "lixo",
            obj("SS000000017BR", ev("PO", "01", "2026-11-02T10:00:00")),
            obj("SS000000025BR", eventos="x"),
        )
    )  # type: ignore[arg-type]
    assert [r.tracking_code for r in results] == ["SS000000017BR", "SS000000025BR"]
    assert results[0].status is Status.POSTED
    assert "'eventos' is a str" in results[1].problems[0]


def test_est_reverses_the_event_listed_before_it_even_when_its_time_is_earlier() -> None:
    [result] = parse(
        payload(
            obj(
                "SS000000017BR",
                ev("EST", "01", "2026-11-04T09:59:00", "Favor desconsiderar a informação anterior"),
                ev("BDE", "01", "2026-11-04T10:00:00", "Objeto entregue ao destinatário"),  # the mistake
                ev("RO", "01", "2026-11-03T10:00:00", "Objeto em trânsito"),
            )
        )
    )
    assert [(e.code, e.voided) for e in result.events] == [("RO-01", False), ("EST-01", True), ("BDE-01", True)]
    assert result.status is Status.IN_TRANSIT
