"""hub's own SHA256withRSA check (integrations.paypal_rsa) gives cryptography's verdict.

The ack verifies PayPal's signature with plain integers to keep `cryptography` off the
cold path; these properties hold it to OpenSSL's answer for generated keys, messages and
signatures: valid ones, every one-byte change, truncations and arbitrary bytes.
"""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations import paypal_rsa
from tests.hostile.test_verifier_properties import mutate

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def keys() -> list[rsa.RSAPrivateKey]:
    # PayPal signs with 2048-bit keys; odd sizes test the block length arithmetic.
    return [
        rsa.generate_private_key(public_exponent=e, key_size=bits)
        for bits, e in ((2048, 65537), (1032, 3), (3072, 65537))
    ]


def openssl(key: rsa.RSAPrivateKey, message: bytes, signature: bytes) -> bool:
    try:
        key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def ours(key: rsa.RSAPrivateKey, message: bytes, signature: bytes) -> bool:
    numbers = key.public_key().public_numbers()
    return paypal_rsa.verify(numbers.n, numbers.e, message, signature)


def sign(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


@SETTINGS
@given(index=st.integers(0, 2), message=st.binary(max_size=300))
def test_valid_signatures_pass_both(keys, index, message) -> None:  # noqa: ANN001
    signature = sign(keys[index], message)
    assert ours(keys[index], message, signature) is openssl(keys[index], message, signature) is True


@SETTINGS
@given(
    index=st.integers(0, 2),
    message=st.binary(min_size=1, max_size=300),
    position=st.integers(0, 10**6),
    byte=st.integers(0, 255),
    in_signature=st.booleans(),
)
def test_any_changed_byte_fails_both(keys, index, message, position, byte, in_signature) -> None:  # noqa: ANN001
    key = keys[index]
    signature = sign(key, message)
    if in_signature:
        signature = mutate(signature, position, byte)
    else:
        message = mutate(message, position, byte)
    assert ours(key, message, signature) is openssl(key, message, signature) is False


@SETTINGS
@given(index=st.integers(0, 2), message=st.binary(max_size=64), signature=st.binary(max_size=400))
def test_arbitrary_signatures_get_the_same_verdict(keys, index, message, signature) -> None:  # noqa: ANN001
    assert ours(keys[index], message, signature) is openssl(keys[index], message, signature)


@SETTINGS
@given(index=st.integers(0, 2), message=st.binary(max_size=64), cut=st.integers(1, 8))
def test_truncated_padded_or_another_keys_signatures_fail_both(keys, index, message, cut) -> None:  # noqa: ANN001
    key, signature = keys[index], sign(keys[index], message)
    for changed in (signature[:-cut], b"\x00" * cut + signature, sign(keys[(index + 1) % 3], message)):
        assert ours(key, message, changed) is openssl(key, message, changed) is False


def test_a_signature_at_or_above_the_modulus_fails_both(keys) -> None:  # noqa: ANN001
    key = keys[0]
    n = key.public_key().public_numbers().n
    for value in (n, n + 1, 2 ** n.bit_length() - 1):
        signature = value.to_bytes((n.bit_length() + 7) // 8, "big")
        assert ours(key, b"m", signature) is openssl(key, b"m", signature) is False
