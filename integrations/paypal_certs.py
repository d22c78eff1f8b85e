"""PayPal's message-signing certificate: which URLs may name it, fetching, checking, caching.

A webhook names its certificate in `PAYPAL-CERT-URL`, a header anyone can write, so the
URL is held to PayPal's own hosts before anything is fetched, redirects are not followed,
and the certificate must chain to a trusted root (certifi's, or PAYPAL_CA_BUNDLE) and
name PayPal's signing host. A checked certificate is cached by URL in the shared cache,
so a cold start verifies a webhook without a fetch and without rebuilding the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hub.errors import BadRequestError, ServiceUnavailableError
from integrations import paypal_rsa

if TYPE_CHECKING:
    from cryptography.x509 import Certificate
    from flask_caching import Cache

    from hub.config import Settings

log = logging.getLogger("hub.paypal")

PAYPAL_HOSTS = frozenset(
    {
        "api.paypal.com",
        "api-m.paypal.com",
        "api.sandbox.paypal.com",
        "api-m.sandbox.paypal.com",
    }
)
CERT_PATH = "/v1/notifications/certs/"
_CERT_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")  # CERT-360caa42-fca2a594-a5cafa77: no "/", "%", ".."
SIGNER_NAMES = {
    "live": "messageverificationcerts.paypal.com",
    "sandbox": "messageverificationcerts.sandbox.paypal.com",
}
FETCH_TIMEOUT_SECONDS = 5
MAX_CERT_BYTES = 64 * 1024  # PayPal's leaf plus its intermediates is about 5 KiB
CACHE_SECONDS = 24 * 3600  # PayPal rotates signing certificates rarely; never past not_after


@dataclass(frozen=True)
class CheckedCert:
    """A signing certificate whose name and chain were checked: its RSA key and validity.

    Plain numbers, so that the cached form needs no `cryptography` to use (paypal_rsa).
    """

    n: int
    e: int
    not_before: float
    not_after: float

    def to_cache(self) -> dict[str, object]:
        return {
            "n": format(self.n, "x"),
            "e": self.e,
            "not_before": self.not_before,
            "not_after": self.not_after,
        }

    @classmethod
    def from_cache(cls, stored: object) -> CheckedCert | None:
        if not isinstance(stored, dict):
            return None
        try:
            return cls(
                int(stored["n"], 16),
                int(stored["e"]),
                float(stored["not_before"]),
                float(stored["not_after"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def check_dates(self) -> None:
        if not self.not_before <= time.time() <= self.not_after:
            raise _bad_cert("the certificate is expired or not yet valid")

    def verify(self, message: bytes, signature: bytes) -> bool:
        return paypal_rsa.verify(self.n, self.e, message, signature)


def check_url(url: str) -> None:
    """400 unless `url` is https, on an exact PayPal API host, under /v1/notifications/certs/."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or not url.startswith("https://")  # urlsplit lowercases the scheme; PayPal sends it so
        or parts.hostname not in PAYPAL_HOSTS
        or parts.netloc != parts.hostname  # no userinfo, no port, no upper case
        or port is not None
        or not _CERT_NAME.fullmatch(parts.path.removeprefix(CERT_PATH))
        or not parts.path.startswith(CERT_PATH)
        or parts.query
        or parts.fragment
        or "?" in url
        or "#" in url
    ):
        raise BadRequestError(
            "PAYPAL-CERT-URL is not a PayPal certificate URL (https on a PayPal API host, "
            f"under {CERT_PATH}, without userinfo, port, query or fragment)",
            code="foreign_cert_url",
        )


def signing_cert(url: str, settings: Settings, cache: Cache) -> CheckedCert:
    """The checked certificate at `url`: from the cache, else fetched and checked (then cached)."""
    key = _cache_key(url, settings)
    cached = CheckedCert.from_cache(cache.get(key))
    if cached is not None:  # its name and chain were checked before it was stored
        cached.check_dates()
        return cached
    chain = load_chain(_fetch(url, settings))
    checked = check_chain(chain, trusted_roots(settings), settings.paypal_environment)
    lifetime = int(min(CACHE_SECONDS, checked.not_after - time.time()))
    cache.set(key, checked.to_cache(), timeout=max(1, lifetime))
    return checked


def _cache_key(url: str, settings: Settings) -> str:
    # The verdict depends on what was trusted and which name was expected, not only the URL.
    trust = f"{settings.paypal_environment}|{settings.paypal_ca_bundle}|{settings.paypal_api_url}|{url}"
    return "paypal:cert:" + hashlib.sha256(trust.encode()).hexdigest()


def _fetch(url: str, settings: Settings) -> bytes:
    """The PEM at `url` (at PAYPAL_API_URL's host when set), or 503 so that PayPal retries."""
    # urllib.request (with email and http.client's parser) only when a certificate is not
    # cached yet: a cold start with it in the shared cache verifies without loading them.
    import http.client
    import urllib.error
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        """A redirect could lead off PayPal's hosts: it is a failed fetch, never followed."""

        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    target = settings.paypal_api_url + urlsplit(url).path if settings.paypal_api_url else url
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(urllib.request.Request(target), timeout=FETCH_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_CERT_BYTES + 1)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        log.warning("paypal certificate not fetched from %s: %s", target, exc)
        raise ServiceUnavailableError(
            "PayPal's signing certificate could not be fetched; deliver again later",
            code="cert_unavailable",
        ) from None
    if len(body) > MAX_CERT_BYTES:
        raise BadRequestError("the certificate at PAYPAL-CERT-URL is too large", code="bad_certificate")
    return body


def load_chain(pem: bytes) -> list[Certificate]:
    from cryptography import x509

    try:
        chain = x509.load_pem_x509_certificates(pem)
    except ValueError:
        chain = []
    if not chain:
        raise _bad_cert("the document at PAYPAL-CERT-URL is not a PEM certificate")
    return chain


def check_chain(chain: list[Certificate], roots: list[Certificate], environment: str) -> CheckedCert:
    """The leaf of `chain` if it names PayPal's signer, is in date and chains to one of `roots`."""
    from cryptography.x509.oid import NameOID
    from cryptography.x509.verification import DNSName, PolicyBuilder, Store, VerificationError

    leaf, intermediates = chain[0], chain[1:]
    _check_leaf_dates(leaf)
    expected = SIGNER_NAMES[environment]
    names = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [expected]:
        raise _bad_cert(f"the certificate is not issued to {expected}")
    builder = PolicyBuilder().store(Store(roots)).time(dt.datetime.now(dt.UTC))
    try:
        builder.build_server_verifier(DNSName(expected)).verify(leaf, intermediates)
    except (VerificationError, ValueError) as exc:
        raise _bad_cert(f"the certificate does not chain to a trusted root ({exc})") from None
    public = leaf.public_key()
    if not isinstance(public, _rsa_key_type()):
        raise _bad_cert("the certificate's key is not RSA (SHA256withRSA needs one)")
    numbers = public.public_numbers()
    return CheckedCert(
        numbers.n, numbers.e, leaf.not_valid_before_utc.timestamp(), leaf.not_valid_after_utc.timestamp()
    )


def _check_leaf_dates(leaf: Certificate) -> None:
    now = dt.datetime.now(dt.UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise _bad_cert("the certificate is expired or not yet valid")


def trusted_roots(settings: Settings) -> list[Certificate]:
    """PAYPAL_CA_BUNDLE's roots, else certifi's (PayPal's signing chain ends at DigiCert)."""
    from pathlib import Path

    from cryptography import x509

    if settings.paypal_ca_bundle:
        return x509.load_pem_x509_certificates(Path(settings.paypal_ca_bundle).read_bytes())
    import certifi

    return x509.load_pem_x509_certificates(Path(certifi.where()).read_bytes())


def _rsa_key_type() -> type:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    return RSAPublicKey


def _bad_cert(message: str) -> BadRequestError:
    return BadRequestError(message, code="bad_certificate")
