"""Parano mode: every POST body, POST answer and pushed event of a page sealed
with AES-GCM under the page's own random 256-bit key.

A sealed message is ``base64url(nonce[12] + ciphertext + tag[16])``, the
plaintext a JSON object carrying a counter: ``{"n": seq, "o": interaction}``
up, ``{"n": seq, "a": actions}`` for the answer, ``{"i": event id, "a":
actions}`` for an event. The associated data names the direction, so a
message cannot be passed off as another kind. See docs/security.md for what
this protects against, and what not.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import RequestError

UP = b"htag-sse up"  # interactions, browser to server
DOWN = b"htag-sse down"  # answers to interactions
EVENT = b"htag-sse event"  # pushed events
RERUN = b"htag-sse rerun"  # a rerun's answer (new page, new key), under the old page's key
NONCE_BYTES = 12


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))


class Cipher:
    """Seals and opens one page's messages."""

    __slots__ = ("_aead", "key")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self._aead = AESGCM(key)

    def seal(self, purpose: bytes, message: dict[str, Any]) -> str:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        return b64(nonce + self._aead.encrypt(nonce, plain, purpose))

    def open(self, purpose: bytes, sealed: str | bytes) -> tuple[bytes, dict[str, Any]]:
        """The nonce and the message; a 400 :class:`RequestError` for anything that is not ours."""
        try:
            raw = unb64(sealed.strip())
            if len(raw) < NONCE_BYTES + 16:
                raise ValueError("too short")
            nonce = raw[:NONCE_BYTES]
            message = json.loads(self._aead.decrypt(nonce, raw[NONCE_BYTES:], purpose))
        except (InvalidTag, ValueError, binascii.Error, UnicodeError, RecursionError):
            raise RequestError(400, "bad_ciphertext", "the body is not a message sealed with this page's key") from None
        if not isinstance(message, dict):
            raise RequestError(400, "bad_ciphertext", "the sealed message is not an object")
        return nonce, message
