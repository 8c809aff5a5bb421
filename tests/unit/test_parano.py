"""Parano mode's sealing: a message opens only with its key, for its purpose, untouched."""

import pytest

from htag_sse.errors import RequestError
from htag_sse.parano import DOWN, EVENT, UP, Cipher, b64, new_key, unb64


def test_a_sealed_message_opens_with_its_key_and_purpose_only():
    cipher = Cipher(new_key())
    sealed = cipher.seal(UP, {"n": 1, "o": {"id": 3}})
    nonce, message = cipher.open(UP, sealed)
    assert message == {"n": 1, "o": {"id": 3}} and len(nonce) == 12
    assert cipher.seal(UP, message) != sealed  # a fresh nonce each time
    for wrong in (lambda: Cipher(new_key()).open(UP, sealed), lambda: cipher.open(DOWN, sealed),
                  lambda: cipher.open(EVENT, sealed)):  # fmt: skip
        with pytest.raises(RequestError) as e:
            wrong()
        assert e.value.status == 400 and e.value.code == "bad_ciphertext"


@pytest.mark.parametrize("body", ["", "!!!", b64(b"short"), b64(b"\x00" * 40)])
def test_anything_else_is_a_clear_400(body):
    with pytest.raises(RequestError) as e:
        Cipher(new_key()).open(UP, body)
    assert e.value.status == 400


def test_base64url_round_trips_without_padding():
    for data in (b"", b"a", b"ab", b"abc", bytes(range(256))):
        assert unb64(b64(data)) == data and "=" not in b64(data)
