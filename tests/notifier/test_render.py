"""Templates: every message renders on every channel with the store, the order and the tracking link; a
store's own template wins; a fact the template needs and the context lacks fails naming it."""

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from notifier.channels.base import Outgoing
from notifier.channels.ops_webhook import slack_body
from notifier.checkin import checkin_links
from notifier.context import message_context
from notifier.render import RenderError, page, render
from notifier.vocabulary import Channel, Trigger
from tracker.clock import SimulatedClock
from tracker.config import Settings

SETTINGS = Settings(
    _env_file=None,  # type: ignore[call-arg]
    store_name="Casa Aurora",
    public_base_url="https://zelo.example/",
    secret_key=SecretStr("render-secret"),
)
SHIPMENT: dict[str, Any] = {
    "id": 7,
    "tracking_code": "SS123456785BR",
    "carrier": "correios",
    "order_number": "PED-1001",
    "external_id": "erp-1001",
    "customer_name": "Ana <b>Maria</b> Souza",
    "destination_state": "SP",
    "pickup_deadline": None,
}
CUSTOMER = [t for t in Trigger if not t.value.startswith("ops_")]
OPS = [Trigger.OPS_INCIDENT, Trigger.OPS_SLA]
FACTS: dict[str, Any] = {
    "status": "in_transit",
    "expected_date": "2026-11-12",
    "kind": "damaged",
    "severity": "high",
    "action": "opened",
    "owner": "claims",
    "next_action": "Pedir fotos ao cliente; reenviar ou reembolsar, e abrir a reclamação na transportadora",
    "triage_due_at": "2026-11-02T15:00:00+00:00",
    "evidence": {"event": {"at": "2026-11-02T10:00:00+00:00", "code": "BDE-20", "description": "Objeto avariado"}},
}


@pytest.fixture
def context(clock: SimulatedClock) -> dict[str, Any]:
    links = checkin_links(7, settings=SETTINGS, now=clock.now())
    return message_context(SHIPMENT, FACTS, settings=SETTINGS, links=links)


@pytest.mark.parametrize("trigger", CUSTOMER)
@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.WHATSAPP, Channel.WA_LINK])
def test_every_customer_message_renders_with_store_order_tracking_and_optout(
    trigger: Trigger, channel: Channel, context: dict[str, Any]
) -> None:
    out = render(trigger, channel, context)
    for part in filter(None, (out.text, out.html)):
        assert "Casa Aurora" in part and "PED-1001" in part
        assert "SS123456785BR" in part  # the tracking link carries the code
        assert context["optout"] in part
    if channel is Channel.EMAIL:
        assert out.subject and "\n" not in out.subject and "PED-1001" in out.subject
        assert out.html is not None and out.html.startswith("<!DOCTYPE html>")
        assert "<script" not in out.html and "http://" not in out.html.replace(SETTINGS.public_base_url, "")
        assert "<b>Maria" not in out.html
    else:
        assert out.subject is None and out.html is None
    assert "None" not in out.text and "{{" not in out.text


@pytest.mark.parametrize("trigger", OPS)
@pytest.mark.parametrize("channel", [Channel.OPS_EMAIL, Channel.OPS_WEBHOOK])
def test_ops_alerts_render(trigger: Trigger, channel: Channel, context: dict[str, Any]) -> None:
    out = render(trigger, channel, context)
    assert out.subject and "Casa Aurora" in out.subject and "avaria" in out.subject
    assert "SS123456785BR" in out.text and out.html is None and "PED-1001" in out.text
    assert "Responsável: Reclamações e indenizações" in out.text  # the owner in words, not "claims"
    assert "Próxima ação: Pedir fotos ao cliente" in out.text
    assert "Prazo de triagem: 02/11/2026 12:00 (horário de Brasília)" in out.text  # with its zone
    assert "Evento da transportadora: Objeto avariado" in out.text and "event.description" not in out.text


def test_the_facts_each_message_promises(context: dict[str, Any]) -> None:
    delayed = message_context(
        SHIPMENT,
        {"expected_date": "2026-11-12", "kind": "delayed", "evidence": {"promised_date": "2026-11-05"}},
        settings=SETTINGS,
        links=_links(context),
    )
    assert "nova previsão de entrega é 12/11/2026" in render(Trigger.DELAYED, Channel.EMAIL, delayed).text
    same = delayed | message_context(
        SHIPMENT,
        {"expected_date": "2026-11-05", "evidence": {"promised_date": "2026-11-05"}},
        settings=SETTINGS,
        links=_links(context),
    )
    assert "Assim que tivermos uma nova data" in render(Trigger.DELAYED, Channel.EMAIL, same).text
    pickup = message_context(
        SHIPMENT | {"pickup_deadline": None},
        {"pickup_address": "Agência Centro, Rua Direita 10", "pickup_deadline": "2026-11-10T02:59:00+00:00"},
        settings=SETTINGS,
        links=_links(context),
    )
    text = render(Trigger.AWAITING_PICKUP, Channel.EMAIL, pickup).text
    assert "Agência Centro, Rua Direita 10" in text and "09/11/2026" in text  # the local day in São Paulo
    assert "nova tentativa" in render(Trigger.FAILED_ATTEMPT, Channel.EMAIL, context).text
    assert "responder este e-mail" in render(Trigger.FAILED_ATTEMPT, Channel.EMAIL, context).text
    for trigger in (Trigger.LOST, Trigger.STOLEN, Trigger.DAMAGED):
        assert "novo pedido" in render(trigger, Channel.EMAIL, context).text
    resend = context | {"remedy": "refund"}
    assert "devolver todo o valor" in render(Trigger.LOST, Channel.WHATSAPP, resend).text
    checkin = render(Trigger.CHECKIN, Channel.EMAIL, context)
    for answer in ("accepted", "with_issue", "not_received"):
        assert "https://zelo.example/c/" in checkin.text and f"?answer={answer}" in checkin.text
        assert f"?answer={answer}" in (checkin.html or "")
    assert "Entregue e aceito" in checkin.text and "Entregue com ressalva" in checkin.text
    assert "Não recebi" in checkin.text and "Os links valem por 14 dias." in checkin.text


def test_context_names_and_links() -> None:
    ctx = message_context(
        {"tracking_code": "SS1 X", "carrier": "correios", "external_id": "erp-9"}, {}, settings=SETTINGS, links={}
    )
    assert ctx["customer_first_name"] == "cliente" and ctx["order_number"] == "erp-9"
    assert ctx["tracking_link"].endswith("objetos=SS1%20X") and ctx["carrier"] == "Correios"
    assert message_context(SHIPMENT, {}, settings=SETTINGS, links={})["customer_first_name"] == "Ana"
    assert (
        message_context(SHIPMENT, {"expected_date": date(2026, 1, 2)}, settings=SETTINGS, links={})["expected_date"]
        == "02/01/2026"
    )


def test_html_is_escaped_and_text_is_not(context: dict[str, Any]) -> None:
    ctx = context | {"customer_first_name": "<Zé & Cia>"}
    out = render(Trigger.POSTED, Channel.EMAIL, ctx)
    assert "&lt;Zé &amp; Cia&gt;" in (out.html or "") and "<Zé & Cia>" not in (out.html or "")
    assert "Olá, <Zé & Cia>!" in out.text


def test_a_store_template_wins(tmp_path: Path, context: dict[str, Any]) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "posted.j2").write_text(
        "{% block subject %}Postado: {{ order_number }}{% endblock %}"
        "{% block text %}Oi {{ customer_first_name }}, da {{ store_name }}{% endblock %}"
        "{% block html %}<p>{{ customer_first_name }}</p>{% endblock %}",
        encoding="utf-8",
    )
    (tmp_path / "email" / "delayed.j2").write_text(
        '{% extends "builtin/email/delayed.j2" %}{% block subject %}Atrasou, {{ customer_first_name }}{% endblock %}',
        encoding="utf-8",
    )
    mine = render(Trigger.POSTED, Channel.EMAIL, context, templates_dir=str(tmp_path))
    assert (mine.subject, mine.text, mine.html) == ("Postado: PED-1001", "Oi Ana, da Casa Aurora", "<p>Ana</p>")
    reworded = render(Trigger.DELAYED, Channel.EMAIL, context, templates_dir=str(tmp_path))
    assert reworded.subject == "Atrasou, Ana" and "Detectamos um atraso" in reworded.text
    assert render(Trigger.POSTED, Channel.EMAIL, context).subject != mine.subject  # the built-in one elsewhere
    assert "Casa Aurora" in render(Trigger.POSTED, Channel.WHATSAPP, context, templates_dir=str(tmp_path)).text


def test_a_missing_fact_fails_with_its_name(context: dict[str, Any], tmp_path: Path) -> None:
    without = {k: v for k, v in context.items() if k != "checkin_not_received"}
    with pytest.raises(RenderError, match="'checkin_not_received' is undefined"):
        render(Trigger.CHECKIN, Channel.EMAIL, without)
    with pytest.raises(RenderError, match="tracking_link"):
        render(Trigger.POSTED, Channel.WHATSAPP, {k: v for k, v in context.items() if k != "tracking_link"})
    (tmp_path / "whatsapp").mkdir()
    (tmp_path / "whatsapp" / "posted.j2").write_text("{% block text %}{{ voucher_code }}{% endblock %}")
    with pytest.raises(RenderError, match="voucher_code"):
        render(Trigger.POSTED, Channel.WHATSAPP, context, templates_dir=str(tmp_path))
    with pytest.raises(RenderError, match=r"no template 'whatsapp/ops_sla\.j2'"):
        render(Trigger.OPS_SLA, Channel.WHATSAPP, context)


def _links(context: dict[str, Any]) -> dict[str, str]:
    keys = ("checkin_accepted", "checkin_with_issue", "checkin_not_received", "optout")
    return {k: context[k] for k in keys}


def test_a_customers_comment_reaches_the_ops_webhook_as_text(clock: SimulatedClock) -> None:
    said = "<!channel> <https://evil.example|Clique aqui>"
    facts = FACTS | {"kind": "not_received", "evidence": {"source": "checkin", "checkin": {"comment": said}}}
    links = checkin_links(7, settings=SETTINGS, now=clock.now())
    context = message_context(SHIPMENT | {"order_number": "PED-<!here>"}, facts, settings=SETTINGS, links=links)
    out = render(Trigger.OPS_INCIDENT, Channel.OPS_WEBHOOK, context)
    assert said in out.text  # the ops e-mail is plain text: shown as written
    body = json.dumps(slack_body(Outgoing(1, "k", "", out.subject, out.text)))
    assert "&lt;!channel&gt; &lt;https://evil.example|Clique aqui&gt;" in body and "PED-&lt;!here&gt;" in body
    assert "<!" not in body and "<https" not in body


def test_a_stores_own_html_and_pages_are_escaped_too(tmp_path: Path, context: dict[str, Any]) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "posted.j2").write_text(
        "{% block subject %}Oi{% endblock %}{% block text %}{{ customer_first_name }}{% endblock %}"
        "{% block html %}<p>{{ customer_first_name }}</p>{% endblock %}"
    )
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "message.j2").write_text("<h1>{{ title }}</h1>")
    ctx = context | {"customer_first_name": "<script>x</script>"}
    mine = render(Trigger.POSTED, Channel.EMAIL, ctx, templates_dir=str(tmp_path))
    assert mine.html == "<p>&lt;script&gt;x&lt;/script&gt;</p>" and mine.text == "<script>x</script>"
    assert page("message", {"title": "<b>"}, templates_dir=str(tmp_path)) == "<h1>&lt;b&gt;</h1>"


def test_a_customs_hold_with_tax_due_tells_the_customer_how_where_and_until_when_to_pay(
    context: dict[str, Any],
) -> None:
    event = {"at": "2026-11-02T13:00:00+00:00", "code": "BDE-54", "description": "Aguardando pagamento"}
    facts = {"kind": "customs_hold", "status_reason": "customs_tax_due", "evidence": {"event": event}}
    taxed = message_context(SHIPMENT, facts, settings=SETTINGS, links=_links(context))
    mail = render(Trigger.CUSTOMS_HOLD, Channel.EMAIL, taxed)
    assert mail.subject and mail.subject.startswith("Ação necessária: pague o imposto")
    for part in (mail.text, mail.html or ""):
        assert "Minhas Importações" in part and "https://www.correios.com.br" in part
        assert "SS123456785BR" in part and "02/12/2026" in part  # 30 calendar days from the notice
        assert "devolvido ao remetente" in part  # what happens past the deadline
    whatsapp = render(Trigger.CUSTOMS_HOLD, Channel.WHATSAPP, taxed).text
    assert "Minhas Importações" in whatsapp and "02/12/2026" in whatsapp and "imposto" in whatsapp
    inspected = message_context(
        SHIPMENT, facts | {"status_reason": "customs_inspection"}, settings=SETTINGS, links=_links(context)
    )
    calm = render(Trigger.CUSTOMS_HOLD, Channel.EMAIL, inspected)
    assert "não precisa fazer nada" in calm.text and "pague" not in calm.text.lower()
    assert calm.subject and "fiscalização" in calm.subject


def test_a_reminder_says_it_is_one_in_its_subject_and_body(context: dict[str, Any]) -> None:
    first = render(Trigger.AWAITING_PICKUP, Channel.EMAIL, context)
    again = render(Trigger.AWAITING_PICKUP, Channel.EMAIL, context | {"reminder": True})
    assert again.subject and again.subject.startswith("Lembrete:")
    assert "Este é um lembrete" in again.text and "Este é um lembrete" in (again.html or "")
    assert "embrete" not in f"{first.subject}{first.text}{first.html}"
    assert "Lembrete:" in render(Trigger.AWAITING_PICKUP, Channel.WHATSAPP, context | {"reminder": True}).text


def test_ops_read_the_evidence_in_words_with_dates_and_zones(context: dict[str, Any]) -> None:
    evidence = {
        "promised_date": "2026-10-28",
        "promise_source": "store",
        "current_expected_date": None,
        "business_days_late": 3,
        "status": "in_transit",
        "last_event_at": "2026-10-27T13:10:00+00:00",
    }
    facts = FACTS | {"kind": "delayed", "severity": "medium", "owner": "ops", "evidence": evidence, "incident_id": 12}
    ops = message_context(SHIPMENT, facts, settings=SETTINGS, links=_links(context))
    for channel in (Channel.OPS_EMAIL, Channel.OPS_WEBHOOK):
        text = render(Trigger.OPS_INCIDENT, channel, ops).text
        for line in (
            "- Dias úteis de atraso: 3",
            "- Data prometida ao cliente: 28/10/2026",
            "- Origem da promessa: a loja",
            "- Situação do pacote: em trânsito",
            "- Último evento da transportadora: 27/10/2026 10:10 (horário de Brasília)",
            "Responsável: Operações",
            "https://zelo.example/v1/incidents/12",
        ):
            assert line in text, line
        assert not [key for key in evidence if f"{key}:" in text]  # no machine key left
    photo = FACTS | {"incident_id": 9, "evidence": {"source": "checkin", "checkin": {"answer": "with_issue"}}}
    photo["evidence"]["checkin"] |= {"reason": "wrong_items", "photo": "0123456789abcdef0123456789abcdef.jpg"}
    text = render(
        Trigger.OPS_INCIDENT, Channel.OPS_EMAIL, message_context(SHIPMENT, photo, settings=SETTINGS, links={})
    )
    assert "- Resposta do cliente: entregue com ressalva" in text.text
    assert "- Problema apontado pelo cliente: itens errados ou faltando" in text.text
    assert "- Foto enviada pelo cliente: https://zelo.example/v1/incidents/9/photo" in text.text


def test_an_overdue_sla_alert_says_so(context: dict[str, Any]) -> None:
    soon = render(Trigger.OPS_SLA, Channel.OPS_EMAIL, context)
    late = render(Trigger.OPS_SLA, Channel.OPS_EMAIL, context | {"overdue": True})
    assert soon.subject and "vence 02/11/2026 12:00" in soon.subject and "VENCIDO" not in soon.text
    assert late.subject and "VENCIDO" in late.subject and "ATRASADA" in late.text and "venceu em" in late.text
