"""The Jadlog parser on answers of the recorded shape: statuses, unknown texts, missing fields, erro, bad shapes."""

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from carriers.base import ContractError, Reason, Status
from carriers.jadlog import SPEC
from carriers.jadlog.codes import table
from carriers.jadlog.parse import parse

BRT = ZoneInfo("America/Sao_Paulo")
CODE = "10082212345678"


def answer(*items: dict[str, Any]) -> dict[str, Any]:
    return {"consulta": list(items)}


def event(status: Any, data: Any = "2026-11-03 10:15:00", unidade: Any = "CO SAO PAULO 03") -> dict[str, Any]:
    return {"data": data, "status": status, "unidade": unidade}


def shipment(*events: dict[str, Any], **fields: Any) -> dict[str, Any]:
    status = events[-1]["status"] if events else None
    return {"shipmentId": CODE, "tracking": {"status": status, "eventos": list(events)}, **fields}


RECORDED = answer(
    {
        "shipmentId": CODE,
        "cte": "1234567",
        "previsaoEntrega": "2026-11-06",
        "tracking": {
            "status": "ENTREGUE",
            "eventos": [
                {"data": "2026-11-02 09:10:00", "status": "EMISSAO", "unidade": "CO SAO PAULO 03"},
                {"data": "2026-11-03 06:40:00", "status": "TRANSFERENCIA", "unidade": "HUB CAJAMAR"},
                {"data": "2026-11-04 08:05:00", "status": "EM ROTA", "unidade": "CO RIO DE JANEIRO 01"},
                {"data": "2026-11-04 15:32:00", "status": "ENTREGUE", "unidade": "CO RIO DE JANEIRO 01"},
            ],
        },
    },
    {"shipmentId": "10082212345679", "erro": {"id": -1, "descricao": "Não localizado", "detalhe": None}},
)


def test_a_recorded_answer_is_normalized() -> None:
    delivered, missing = parse(RECORDED)
    assert delivered.tracking_code == CODE
    assert delivered.status is Status.DELIVERED and delivered.error is None and delivered.problems == ()
    assert delivered.expected_delivery == date(2026, 11, 6)
    assert [(e.code, e.status) for e in delivered.events] == [
        ("EMISSAO", Status.POSTED),
        ("TRANSFERENCIA", Status.IN_TRANSIT),
        ("EM ROTA", Status.OUT_FOR_DELIVERY),
        ("ENTREGUE", Status.DELIVERED),
    ]
    first = delivered.events[0]
    assert first.occurred_at == datetime(2026, 11, 2, 9, 10, tzinfo=BRT)
    assert first.occurred_at.utcoffset() is not None and first.occurred_at.isoformat() == "2026-11-02T09:10:00-03:00"
    assert first.location == "CO SAO PAULO 03" and first.description == "Emissão" and first.known_code
    assert first.pickup_deadline is None
    assert missing.tracking_code == "10082212345679" and missing.events == ()
    assert missing.error is not None and (missing.error.code, missing.error.final) == ("nao_localizado", False)
    assert missing.error.message == "Não localizado"
    assert missing.status is Status.PENDING


def test_the_spec_parses_with_this_parser() -> None:
    assert [r.status for r in SPEC.parse(RECORDED)] == [Status.DELIVERED, Status.PENDING]


@pytest.mark.parametrize("code", sorted(table()))
def test_every_status_of_the_table_is_read_as_its_row(code: str) -> None:
    info = table()[code]
    [result] = parse(answer(shipment(event("EMISSAO", "2026-11-02 09:00:00"), event(code.lower()))))
    last = result.events[-1]
    assert (last.code, last.status, last.reason, last.known_code) == (code, info.status, info.reason, True)
    assert last.description == info.description and result.problems == ()


def test_events_are_put_in_time_order_whatever_order_jadlog_lists_them() -> None:
    newest_first = shipment(
        event("ENTREGUE", "2026-11-04 15:32:00"),
        event("EM ROTA", "2026-11-04 08:05:00"),
        event("EMISSAO", "2026-11-02 09:10:00"),
    )
    [result] = parse(answer(newest_first))
    assert [e.code for e in result.events] == ["EMISSAO", "EM ROTA", "ENTREGUE"]
    assert result.status is Status.DELIVERED


def test_the_return_leg_stays_returning() -> None:
    [result] = parse(
        answer(
            shipment(
                event("EMISSAO", "2026-11-02 09:00:00"),
                event("RECUSADO", "2026-11-04 10:00:00"),
                event("TRANSFERENCIA", "2026-11-05 10:00:00"),
            )
        )
    )
    assert result.status is Status.RETURNING
    assert result.events[1].reason is Reason.CONSIGNEE_REFUSED


def test_an_unknown_status_keeps_the_current_status_and_says_so() -> None:
    [result] = parse(
        answer(
            shipment(
                event("EMISSAO", "2026-11-02 09:00:00"),
                event("Conferência de carga", "2026-11-02 12:00:00"),
                event("TRANSFERENCIA", "2026-11-03 06:00:00"),
            )
        )
    )
    unknown = result.events[1]
    assert (unknown.code, unknown.status, unknown.known_code) == ("CONFERENCIA DE CARGA", Status.POSTED, False)
    assert unknown.description == "Conferência de carga"
    assert result.problems == ("unknown Jadlog status 'CONFERENCIA DE CARGA'; kept as posted",)
    assert result.status is Status.IN_TRANSIT


def test_an_unknown_first_status_is_in_transit() -> None:
    [result] = parse(answer(shipment(event("NOVO STATUS"))))
    assert result.events[0].status is Status.IN_TRANSIT and not result.events[0].known_code


def test_an_event_without_status_is_kept_as_unknown_under_a_stable_code() -> None:
    [result] = parse(answer(shipment(event("EMISSAO", "2026-11-02 09:00:00"), event(None))))
    assert (result.events[1].code, result.events[1].status, result.events[1].known_code) == ("?", Status.POSTED, False)
    assert result.problems == ("unknown Jadlog status '?'; kept as posted",)


@pytest.mark.parametrize("data", [None, "", "ontem", "2026-13-01 10:00:00", 1730000000])
def test_an_event_without_a_valid_date_is_skipped_with_a_problem(data: Any) -> None:
    [result] = parse(answer(shipment(event("EMISSAO", "2026-11-02 09:00:00"), event("ENTREGUE", data))))
    assert [e.code for e in result.events] == ["EMISSAO"]
    assert result.problems == (
        f"event 'ENTREGUE' has no valid data (got {data!r}, expected yyyy-mm-dd hh:mm:ss); skipped",
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("2026-11-03 10:15:00", datetime(2026, 11, 3, 10, 15, tzinfo=BRT)),
        ("2026-11-03T10:15:00", datetime(2026, 11, 3, 10, 15, tzinfo=BRT)),
        ("03/11/2026 10:15:00", datetime(2026, 11, 3, 10, 15, tzinfo=BRT)),
        ("03/11/2026 10:15", datetime(2026, 11, 3, 10, 15, tzinfo=BRT)),
        ("2026-11-03T13:15:00+00:00", datetime(2026, 11, 3, 10, 15, tzinfo=BRT)),
    ],
)
def test_event_dates_are_brasilia_local_unless_they_carry_an_offset(data: str, expected: datetime) -> None:
    [result] = parse(answer(shipment(event("EMISSAO", data))))
    assert result.events[0].occurred_at == expected


@pytest.mark.parametrize(
    ("unidade", "location"),
    [(None, None), ("", None), ("  CO CAMPINAS ", "CO CAMPINAS"), ({"cidade": "Campinas", "uf": "SP"}, "Campinas/SP")],
)
def test_the_unit_is_the_location(unidade: Any, location: str | None) -> None:
    [result] = parse(answer(shipment(event("EMISSAO", unidade=unidade))))
    assert result.events[0].location == location


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-06", date(2026, 11, 6)),
        ("2026-11-06 23:59:59", date(2026, 11, 6)),
        ("06/11/2026", date(2026, 11, 6)),
        (None, None),
        ("", None),
    ],
)
def test_previsao_entrega_is_the_expected_date(value: Any, expected: date | None) -> None:
    [result] = parse(answer(shipment(event("EMISSAO"), previsaoEntrega=value)))
    assert result.expected_delivery == expected and result.problems == ()


@pytest.mark.parametrize("value", ["amanhã", 20261106, "2026-02-30"])
def test_an_unreadable_previsao_entrega_is_a_problem_not_an_error(value: Any) -> None:
    [result] = parse(answer(shipment(event("EMISSAO"), previsaoEntrega=value)))
    assert result.expected_delivery is None and len(result.events) == 1
    assert result.problems == (
        f"previsaoEntrega {value!r} is not a date (expected yyyy-mm-dd or yyyy-mm-dd hh:mm:ss); ignored",
    )


@pytest.mark.parametrize(
    ("erro", "code", "final", "message"),
    [
        ({"id": -1, "descricao": "Não localizado"}, "nao_localizado", False, "Não localizado"),
        ({"id": 3, "descricao": "NAO ENCONTRADO"}, "nao_localizado", False, "NAO ENCONTRADO"),
        (
            {"id": -2, "descricao": "Código inválido", "detalhe": "shipmentId fora do padrão"},
            "invalido",
            True,
            "Código inválido: shipmentId fora do padrão",
        ),
        ({"id": 7, "descricao": "Falha temporária"}, "erro-7", False, "Falha temporária"),
        ({"id": 7}, "erro-7", False, "erro 7"),
        ({"descricao": "Consulta recusada", "detalhe": "Consulta recusada"}, "erro", False, "Consulta recusada"),
    ],
)
def test_erro_answers_are_data(erro: dict[str, Any], code: str, final: bool, message: str) -> None:
    [result] = parse(answer({"shipmentId": CODE, "erro": erro}))
    assert result.error is not None
    assert (result.error.code, result.error.final, result.error.message) == (code, final, message)
    assert result.events == () and result.status is Status.PENDING


@pytest.mark.parametrize("erro", [None, {}, {"id": None, "descricao": None, "detalhe": None}])
def test_an_empty_erro_is_no_error(erro: Any) -> None:
    [result] = parse(answer(shipment(event("EMISSAO"), erro=erro)))
    assert result.error is None and result.problems == ()


def test_an_erro_beside_events_keeps_the_events() -> None:
    [result] = parse(answer(shipment(event("EMISSAO"), erro={"id": 9, "descricao": "Aviso"})))
    assert result.error is None and [e.code for e in result.events] == ["EMISSAO"]
    assert result.problems == ("erro 'Aviso' came with tracking events; the events are kept",)


def test_an_erro_that_is_not_an_object_is_a_problem() -> None:
    [result] = parse(answer({"shipmentId": CODE, "erro": "Não localizado"}))
    assert result.error is None and result.problems == ("'erro' is a str, expected an object; ignored",)


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"shipmentId": CODE}, None),
        ({"shipmentId": CODE, "tracking": None}, None),
        ({"shipmentId": CODE, "tracking": {"eventos": []}}, None),
        (
            {"shipmentId": CODE, "tracking": {"status": "EMISSAO", "eventos": []}},
            "tracking.status 'EMISSAO' came without dated events; not used",
        ),
        ({"shipmentId": CODE, "tracking": []}, "'tracking' is a list, expected an object; ignored"),
        (
            {"shipmentId": CODE, "tracking": {"eventos": {"data": "x"}}},
            "tracking.eventos is a dict, expected a list; ignored",
        ),
        (
            {"shipmentId": CODE, "tracking": {"eventos": ["EMISSAO"]}},
            "tracking.eventos[0] is a str, expected an object; skipped",
        ),
    ],
)
def test_missing_or_odd_tracking_leaves_no_events(item: dict[str, Any], problem: str | None) -> None:
    [result] = parse(answer(item))
    assert result.events == () and result.status is Status.PENDING and result.error is None
    assert result.problems == ((problem,) if problem else ())


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"shipmentId": CODE}, CODE),
        ({"shipmentId": 10082212345678}, CODE),
        ({"shipmentId": " 10082212345678 "}, CODE),
        ({"cte": "1234567"}, "1234567"),
        ({"codigo": "JAD123"}, "JAD123"),
        ({"shipmentId": "", "cte": "1234567"}, "1234567"),
    ],
)
def test_the_object_is_named_by_the_key_it_was_asked_under(item: dict[str, Any], code: str) -> None:
    [result] = parse(answer(item))
    assert result.tracking_code == code


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "expected a JSON object with a 'consulta' list, got list"),
        (None, "expected a JSON object with a 'consulta' list, got NoneType"),
        ({"consulta": {"shipmentId": CODE}}, "got keys ['consulta']"),
        (
            {"erro": {"id": 401, "descricao": "Token expirado"}},
            "got keys ['erro'] (erro: \"{'id': 401, 'descricao': 'Token expirado'}\")",
        ),
        ({"consulta": [CODE]}, "consulta[0] is a str, expected an object"),
        (
            {"consulta": [{"previsaoEntrega": "2026-11-06"}]},
            "consulta[0] names no object: expected one of shipmentId, cte, codigo with the code asked for, "
            "got keys ['previsaoEntrega']",
        ),
        ({"consulta": [{"shipmentId": True}]}, "consulta[0] names no object"),
    ],
)
def test_malformed_shapes_are_contract_errors(payload: Any, message: str) -> None:
    with pytest.raises(ContractError) as info:
        parse(payload)
    assert message in str(info.value) and str(info.value).startswith("jadlog: ")


def test_an_empty_consulta_is_no_result() -> None:
    assert parse({"consulta": []}) == []
