"""Click-to-chat links for ops who send WhatsApp messages by hand, without saving the contact."""

import re
from urllib.parse import quote


def wa_me_link(phone_e164: str, text: str) -> str:
    """``+55 11 98765-4321`` and a text → ``https://wa.me/5511987654321?text=<percent-encoded UTF-8>``."""
    digits = re.sub(r"\D", "", phone_e164)
    if not 8 <= len(digits) <= 15:
        raise ValueError("expected a phone number in international (E.164) form, such as +5511987654321")
    return f"https://wa.me/{digits}?text={quote(text, safe='')}"
