"""Carrier credentials (and carriers' pushes) are encrypted at rest with a key derived from ``ZELO_SECRET_KEY``."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken


class Vault:
    def __init__(self, secret_key: str) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(b"zelo-credentials:" + secret_key.encode()).digest())
        self._fernet = Fernet(key)

    def seal(self, data: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(data, sort_keys=True).encode()).decode()

    def seal_bytes(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode()

    def open_bytes(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode())
        except InvalidToken:
            raise ValueError(
                "stored data cannot be decrypted: ZELO_SECRET_KEY differs from the key it was stored with"
            ) from None

    def open(self, token: str) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise ValueError(
                "carrier credentials cannot be decrypted: ZELO_SECRET_KEY differs from the key they were stored with"
            ) from None
        return data
