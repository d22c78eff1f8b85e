"""SHA256withRSA (RSASSA-PKCS1-v1_5, RFC 8017 8.2.2) verification with Python integers.

The webhook ack verifies PayPal's signature with a key checked earlier and cached as
plain numbers, so it needs no `cryptography` import: that import alone costs 80-150 ms
on a cold start, about a bare Flask app's whole import. The check is the textbook one
(re-encode the expected message, compare the whole block in constant time: no parsing
of attacker-chosen padding), and `tests/paypal/test_rsa_scheme.py` holds its verdict
equal to cryptography's (OpenSSL's) for generated keys, messages and signatures.
"""

from __future__ import annotations

import hashlib
import hmac

# DER of DigestInfo{ AlgorithmIdentifier{ sha256, NULL }, OCTET STRING (32 bytes) } before the digest.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def verify(n: int, e: int, message: bytes, signature: bytes) -> bool:
    """True if `signature` is the PKCS#1 v1.5 SHA-256 signature of `message` under (n, e)."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k or k < len(SHA256_DIGEST_INFO) + 32 + 11:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    encoded = pow(s, e, n).to_bytes(k, "big")
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info
    return hmac.compare_digest(encoded, expected)
