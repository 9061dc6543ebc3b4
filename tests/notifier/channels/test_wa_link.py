"""wa.me click-to-chat links."""

from urllib.parse import parse_qs, urlsplit

import pytest

from notifier.channels.wa_link import wa_me_link


def test_link_strips_the_plus_and_encodes_accents_spaces_and_newlines() -> None:
    text = "Olá, Joana!\nSeu pedido está a caminho: 1+1 & ação?"
    link = wa_me_link("+55 (11) 98765-4321", text)

    assert link.startswith("https://wa.me/5511987654321?text=")
    assert link == (
        "https://wa.me/5511987654321?text="
        "Ol%C3%A1%2C%20Joana%21%0ASeu%20pedido%20est%C3%A1%20a%20caminho%3A%201%2B1%20%26%20a%C3%A7%C3%A3o%3F"
    )
    assert " " not in link and "\n" not in link
    assert parse_qs(urlsplit(link).query)["text"] == [text]


def test_not_a_phone_number() -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        wa_me_link("ramal 12", "oi")
