"""PayPal in development: a local CA and signing certificate, so simulated webhooks are signed.

PayPal signs with a private key only PayPal holds, so hub cannot sign as PayPal. Instead
it makes, once, into the instance folder, a CA named "hub development CA (not PayPal)"
and a signing certificate issued by it for PayPal's sandbox signer name. `hub simulate
paypal` and the playground sign with that key and name the certificate by a URL of the
`hub-dev:` scheme, which nothing can fetch: only a dry-run hub looks it up, in its own
instance folder. A live hub refuses the URL (not PayPal's) and would refuse the chain
(the development CA is trusted by nobody else), so that key can never pass as PayPal's.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import secrets
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from hub.devsecrets import keep_once
from hub.errors import BadRequestError
from integrations.paypal_certs import SIGNER_NAMES, CheckedCert, check_chain

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.x509 import Certificate

    from hub.config import Settings

FILE_NAME = "dev-paypal.pem"
DEV_CERT_PREFIX = "hub-dev:paypal-cert/"
DEV_CA_NAME = "hub development CA (not PayPal)"
ALGORITHM = "SHA256withRSA"
_KEY_MARK = b"-----BEGIN PRIVATE KEY-----"


def is_dev_cert_url(url: str) -> bool:
    return url.startswith(DEV_CERT_PREFIX)


# -- certificates (also what tests build their chains with) -----------------------------------


def new_key() -> RSAPrivateKey:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def issue(
    subject_key: RSAPrivateKey,
    common_name: str,
    *,
    issuer: tuple[RSAPrivateKey, Certificate] | None = None,
    ca: bool = False,
    days: float = 365,
    not_before: dt.datetime | None = None,
) -> Certificate:
    """A certificate for `subject_key` named `common_name`, signed by `issuer` (else itself).

    A CA may sign certificates; a leaf carries its name as a DNS SAN and serverAuth,
    as PayPal's signing certificate does (DigiCert issues it as a TLS certificate).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    signing_key, issuer_name = (issuer[0], issuer[1].subject) if issuer else (subject_key, name)
    public = subject_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[0].public_key()), critical=False
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def pem(*certs: Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


def sign(key: RSAPrivateKey, transmission_id: str, time: str, webhook_id: str, body: bytes) -> str:
    """PAYPAL-TRANSMISSION-SIG: base64 SHA256withRSA of PayPal's signed string."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    message = f"{transmission_id}|{time}|{webhook_id}|{zlib.crc32(body)}".encode()
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


# -- the instance's development signer ----------------------------------------------------------


class DevSigner:
    """The development key, its certificate and CA, as kept in the instance folder."""

    def __init__(self, text: str) -> None:
        from cryptography import x509

        data = text.encode()
        key_end = data.index(b"-----END PRIVATE KEY-----") + len(b"-----END PRIVATE KEY-----")
        self._key_pem = data[data.index(_KEY_MARK) : key_end]
        self.leaf, self.ca = x509.load_pem_x509_certificates(data[key_end:])
        fingerprint = hashlib.sha256(pem(self.leaf)).hexdigest()[:32]
        self.cert_url = DEV_CERT_PREFIX + fingerprint

    @functools.cached_property
    def key(self) -> RSAPrivateKey:
        """The signing key, loaded for signing only (a hub verifying needs the certificate)."""
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        return load_pem_private_key(self._key_pem, password=None)  # type: ignore[return-value]

    def headers(
        self, settings: Settings, body: bytes, *, transmission_id: str | None = None, time: str | None = None
    ) -> dict[str, str]:
        """The PAYPAL-* headers PayPal would send with `body`, signed with the development key."""
        transmission_id = transmission_id or secrets.token_hex(16)
        time = time or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        signature = sign(self.key, transmission_id, time, settings.paypal_webhook_id, body)  # type: ignore[arg-type]
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": time,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": self.cert_url,
            "PAYPAL-AUTH-ALGO": ALGORITHM,
        }


def _generate() -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    ca_key, leaf_key = new_key(), new_key()
    ca = issue(ca_key, DEV_CA_NAME, ca=True, days=3650)
    leaf = issue(leaf_key, SIGNER_NAMES["sandbox"], issuer=(ca_key, ca), days=3650)
    key = leaf_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return (key + pem(leaf, ca)).decode()  # the CA's key is not kept: it signs nothing more


_signers: dict[Path, DevSigner] = {}


def dev_signer(settings: Settings) -> DevSigner:
    """This instance's development signer, made on first use (simulate, playground, intake)."""
    path = Path(settings.instance_path) / FILE_NAME
    if path not in _signers:
        _signers[path] = DevSigner(keep_once(path, _generate))
    return _signers[path]


def dev_signing_cert(url: str, settings: Settings) -> CheckedCert:
    """The development certificate `url` names, checked against the development CA only.

    Called by a dry-run hub alone. The same name, date and chain checks run as for
    PayPal's certificate, so simulated webhooks take the path real ones take.
    """
    signer = dev_signer(settings)
    if url != signer.cert_url:
        raise BadRequestError(
            f"PAYPAL-CERT-URL names another development certificate than this hub's "
            f"({Path(settings.instance_path) / FILE_NAME}): sign with the hub's own HUB_INSTANCE_PATH",
            code="bad_certificate",
        )
    return check_chain([signer.leaf], [signer.ca], "sandbox")
