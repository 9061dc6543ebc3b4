"""The built-in scenario timelines rendered as Correios JSON at chosen instants (pure, no HTTP)."""

import json
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, SandboxClock, SandboxState, scenario_names
from carriers.sandbox.model import LOCAL_TZ, SRO_019, SRO_020
from carriers.sandbox.scenarios import compile_timeline, load_scenarios, render, render_unregistered

START = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # Monday 09:00 in Brasília
CODE = make_code("SS", 1)  # SS000000014BR

# The whole story of each scenario, oldest first (type-status).
STORIES = {
    "on_time": ["PO-01", "RO-01", "DO-01", "RO-01", "OEC-01", "BDE-01"],
    "late": ["PO-01", "RO-01", "DO-01", "RO-01", "OEC-01", "BDE-01"],
    "lost": ["PO-01", "RO-01", "DO-01", "BDE-80"],
    "stolen": ["PO-01", "RO-01", "DO-01", "BDI-50"],
    "damaged": ["PO-01", "RO-01", "DO-01", "BDR-28", "OEC-01", "BDE-01"],
    "failed_attempts": ["PO-01", "RO-01", "DO-01", "OEC-01", "BDE-20", "OEC-01", "BDE-01"],
    "pickup_returned": ["PO-01", "RO-01", "DO-01", "OEC-01", "BDE-02", "LDI-01", "BDE-26", "DO-01", "BDE-23"],
    "customs_hold": ["PAR-16", "BDE-54"],
    "address_problem": ["PO-01", "RO-01", "DO-01", "OEC-01", "BDE-07", "BDE-08", "DO-01", "BDE-23"],
    "refused": ["PO-01", "RO-01", "DO-01", "OEC-01", "BDE-04", "DO-01", "BDE-23"],
    "reversal": ["PO-01", "RO-01", "DO-01", "BDE-01", "EST-01", "OEC-01", "BDE-01"],
    "unknown_code": ["PO-01", "BDE-99", "RO-01", "DO-01", "OEC-01", "BDE-01"],
    "not_found": [],
    "invalid": [],
}


def at(scenario: str, when: datetime, code: str = CODE, start: datetime = START) -> dict[str, Any]:
    return render(Parcel(code, scenario, start), when)


def codes(obj: dict[str, Any]) -> list[str]:
    return [f"{e['codigo']}-{e['tipo']}" for e in obj.get("eventos", [])]


def local(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=LOCAL_TZ)


def test_the_built_in_scenarios_are_the_documented_ones() -> None:
    assert scenario_names() == tuple(STORIES)


@pytest.mark.parametrize("scenario", [s for s, story in STORIES.items() if story])
def test_each_story_ends_as_documented_newest_first(scenario: str) -> None:
    final = at(scenario, START + timedelta(days=60))
    assert codes(final) == STORIES[scenario][::-1]
    times = [local(e["dtHrCriado"]) for e in final["eventos"]]
    assert times == sorted(times, reverse=True)
    assert final["codObjeto"] == CODE
    assert final["tipoPostal"] == {"sigla": "SS", "descricao": "SEDEX", "categoria": "SEDEX"}
    assert final["modalidade"] == "F"
    assert final["dtPrevista"].endswith("T23:59:59")


@pytest.mark.parametrize("scenario", [s for s, story in STORIES.items() if story])
def test_the_story_unfolds_one_event_at_a_time(scenario: str) -> None:
    """Just before each event's time it is not shown; at that exact time it is."""
    final = at(scenario, START + timedelta(days=60))["eventos"]
    for seen, event in enumerate(reversed(final)):
        when = local(event["dtHrCriado"])
        before = at(scenario, when - timedelta(seconds=1))
        assert len(before.get("eventos", [])) == seen
        assert at(scenario, when)["eventos"][0] == event


def test_events_carry_unit_and_detail_only_when_set() -> None:
    po, ro = at("on_time", START + timedelta(hours=9))["eventos"][::-1][:2]
    assert "detalhe" not in po
    assert po["unidade"] == {"tipo": "Agência dos Correios", "endereco": {"cidade": "São Paulo", "uf": "SP"}}
    assert ro["descricao"] == "Objeto em trânsito - por favor aguarde"
    assert ro["detalhe"].startswith("de Unidade de Tratamento, Cajamar - SP")
    assert ro["unidade"]["tipo"] == "Unidade de Tratamento"
    assert set(po) == {"codigo", "tipo", "dtHrCriado", "descricao", "unidade"}


def test_times_are_brasilia_local_without_offset_and_shifted_per_code() -> None:
    shift = zlib.crc32(CODE.encode()) % 90
    po = at("on_time", START + timedelta(hours=3))["eventos"][0]
    expected = (START + timedelta(minutes=shift)).astimezone(LOCAL_TZ)
    assert po["dtHrCriado"] == expected.strftime("%Y-%m-%dT%H:%M:%S")
    assert "+" not in po["dtHrCriado"] and "Z" not in po["dtHrCriado"]


def test_parcels_of_one_scenario_differ_only_by_a_shift_under_90_minutes() -> None:
    late = START + timedelta(days=60)
    firsts = {}
    for serial in range(1, 40):
        code = make_code("SS", serial)
        events = at("failed_attempts", late, code)["eventos"]
        assert codes({"eventos": events}) == STORIES["failed_attempts"][::-1]
        firsts[code] = local(events[-1]["dtHrCriado"])
        assert timedelta(0) <= firsts[code] - START < timedelta(minutes=90)
    assert len(set(firsts.values())) > 10


@pytest.mark.parametrize("hour", range(0, 24, 3))
def test_on_time_is_delivered_before_the_promise_and_late_about_seven_days_after(hour: int) -> None:
    start = datetime(2025, 3, 3, hour, tzinfo=UTC)
    for serial in range(1, 12):
        code = make_code("PN", serial)
        on_time = at("on_time", start + timedelta(days=30), code, start)
        assert local(on_time["eventos"][0]["dtHrCriado"]) < local(on_time["dtPrevista"])
        late = at("late", start + timedelta(days=30), code, start)
        overdue = local(late["eventos"][0]["dtHrCriado"]) - local(late["dtPrevista"])
        assert timedelta(days=6) < overdue < timedelta(days=8)


def test_dt_prevista_counts_calendar_days_from_the_local_posting_date() -> None:
    evening = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)  # still Sunday 2 March, 22:30 in Brasília
    assert at("on_time", evening + timedelta(days=1), start=evening)["dtPrevista"] == "2025-03-07T23:59:59"
    assert at("customs_hold", START + timedelta(days=1))["dtPrevista"] == "2025-04-12T23:59:59"


def test_lost_shows_the_extravio_only_after_about_twelve_days() -> None:
    assert codes(at("lost", START + timedelta(days=11, hours=23)))[0] == "DO-01"
    assert codes(at("lost", START + timedelta(days=13)))[0] == "BDE-80"
    assert at("lost", START + timedelta(days=13))["eventos"][0]["descricao"] == "Objeto extraviado"


def test_pickup_returned_gives_the_pickup_deadline_on_the_ldi_event_only() -> None:
    events = at("pickup_returned", START + timedelta(days=60))["eventos"]
    with_deadline = [e for e in events if "dtLimiteRetirada" in e]
    assert [f"{e['codigo']}-{e['tipo']}" for e in with_deadline] == ["LDI-01"]
    ldi = with_deadline[0]
    assert local(ldi["dtLimiteRetirada"]) - local(ldi["dtHrCriado"]) == timedelta(days=7)
    not_collected = next(e for e in events if e["tipo"] == "26")
    assert local(not_collected["dtHrCriado"]) > local(ldi["dtLimiteRetirada"])


def test_reversal_shows_the_estorno_right_after_the_mistaken_delivery() -> None:
    mistaken = local(at("reversal", START + timedelta(days=60))["eventos"][3]["dtHrCriado"])
    assert codes(at("reversal", mistaken + timedelta(minutes=30)))[:2] == ["BDE-01", "DO-01"]
    after = at("reversal", mistaken + timedelta(hours=1))
    assert codes(after)[:2] == ["EST-01", "BDE-01"]
    assert after["eventos"][0]["descricao"] == "Favor desconsiderar a informação anterior"


def test_customs_hold_stops_at_the_import_tax_event() -> None:
    obj = at("customs_hold", START + timedelta(days=90))
    assert codes(obj) == ["BDE-54", "PAR-16"]
    assert "ICMS Importação" in obj["eventos"][0]["descricao"]


def test_sro_messages() -> None:
    assert at("on_time", START - timedelta(minutes=1)) == {"codObjeto": CODE, "mensagem": SRO_020}
    assert at("not_found", START + timedelta(days=5)) == {"codObjeto": CODE, "mensagem": SRO_020}
    assert at("invalid", START + timedelta(days=5)) == {"codObjeto": CODE, "mensagem": SRO_019}
    assert at("on_time", START + timedelta(days=5), code="SS000000010BR")["mensagem"] == SRO_019
    unknown = make_code("QQ", 5)
    assert render_unregistered(unknown) == {"codObjeto": unknown, "mensagem": SRO_020}
    assert render_unregistered("XX1BR")["mensagem"] == SRO_019
    assert SRO_020 == "SRO-020: Objeto não encontrado na base de dados dos Correios."
    assert SRO_019 == "SRO-019: Objeto inválido"


def test_rendering_is_deterministic() -> None:
    now = START + timedelta(days=4, hours=5)
    for scenario in STORIES:
        parcel = Parcel(CODE, scenario, START)
        first = json.dumps(render(parcel, now), ensure_ascii=False)
        assert json.dumps(render(parcel, now), ensure_ascii=False) == first
        fresh = compile_timeline(parcel, load_scenarios()[scenario]).render(now)
        assert json.dumps(fresh, ensure_ascii=False) == first


def test_parcel_requires_an_aware_start_and_a_known_scenario() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Parcel(CODE, "on_time", datetime(2025, 3, 3, 12))
    with pytest.raises(ValueError, match="unknown scenario 'teleported'"):
        render(Parcel(CODE, "teleported", START), START)


def test_register_is_all_or_nothing_and_replaces_codes() -> None:
    state = SandboxState(SandboxClock(START))
    assert state.register([Parcel(CODE, "lost", START)]) == 1
    good = Parcel(make_code("SS", 2), "on_time", START)
    with pytest.raises(ValueError, match="unknown scenario 'teleported'"):
        state.register([good, Parcel(make_code("SS", 3), "teleported", START)])
    with pytest.raises(ValueError, match=r"fails the S10 check digit.*only scenario 'invalid'"):
        state.register([good, Parcel("SS000000010BR", "not_found", START)])
    assert list(state.parcels) == [CODE]
    assert state.register([Parcel(CODE, "stolen", START), Parcel("SS000000010BR", "invalid", START)]) == 2
    late = START + timedelta(days=9)
    objects = state.render([CODE, "SS000000010BR", make_code("SS", 4)], late)
    assert objects[0]["eventos"][0]["codigo"] == "BDI"
    assert [o.get("mensagem") for o in objects[1:]] == [SRO_019, SRO_020]
