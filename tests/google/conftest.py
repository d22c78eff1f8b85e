"""Google fixtures: a throwaway service-account key, and the wire under googleapiclient.

Credentials are real `google.oauth2.service_account.Credentials` built from a fake key
file with a freshly generated RSA key, so the token request (a signed JWT posted to
oauth2.googleapis.com/token) really happens - on `GoogleWire`, googleapiclient's own
HttpMockSequence, which also answers the API calls. The wire goes in through the app's
public seam, `create_app(transports={"google": ...})` (`GoogleWire.transports`); nothing
in the SDKs or in hub is patched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from googleapiclient.http import HttpMockSequence

from integrations.google_api import TRANSPORT

TOKEN_URI = "https://oauth2.googleapis.com/token"
ACCESS_TOKEN = "ya29.test-access-token"


@dataclass(frozen=True)
class ServiceAccount:
    json_text: str
    public_pem: bytes
    key_id: str = "test-key-1"


def new_service_account() -> ServiceAccount:
    """A service-account key file of a fresh RSA key (tests elsewhere use it too)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = {
        "type": "service_account",
        "project_id": "hub-test",
        "private_key_id": "test-key-1",
        "private_key": private_pem,
        "client_email": "hub@hub-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": TOKEN_URI,
    }
    return ServiceAccount(json.dumps(info), public_pem)


@pytest.fixture(scope="session")
def service_account() -> ServiceAccount:
    return new_service_account()


@dataclass(frozen=True)
class WireRequest:
    uri: str
    method: str
    body: Any
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.uri).query).items()}

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        text = self.body.decode() if isinstance(self.body, bytes) else self.body
        return {k: v[-1] for k, v in parse_qs(text).items()}


class GoogleWire(HttpMockSequence):
    """HttpMockSequence that answers in order and keeps every request for assertions."""

    def __init__(self) -> None:
        super().__init__([])

    def answer(self, status: int, body: Any = None) -> GoogleWire:
        self._iterable.append(({"status": str(status)}, json.dumps(body if body is not None else {})))
        return self

    def token(self) -> GoogleWire:
        return self.answer(200, {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"})

    @property
    def requests(self) -> list[WireRequest]:
        return [WireRequest(u, m, b, dict(h or {})) for u, m, b, h in self.request_sequence]

    @property
    def pending(self) -> int:
        return len(self._iterable)

    def connection(self) -> GoogleWire:
        """The app's Google connection factory: every request of the app comes here."""
        return self

    @property
    def transports(self) -> dict[str, Callable[[], Any]]:
        """For `create_app(transports=...)`: this wire under every Google request of the app.
        A new wire is a new transport, so credentials (and tokens) of other tests stay theirs."""
        return {TRANSPORT: self.connection}


@pytest.fixture
def wire() -> GoogleWire:
    return GoogleWire()


@pytest.fixture
def google_app(make_app, service_account, wire) -> Callable[..., Flask]:  # noqa: ANN001
    """An app on `wire` with the throwaway service account and a calendar; extra keys override."""

    def build(**config: Any) -> Flask:
        base = {
            "GOOGLE_SERVICE_ACCOUNT_JSON": service_account.json_text,
            "GOOGLE_CALENDAR_ID": "team@example.com",
            "HUB_PUBLIC_URL": "https://hub.example.com",
        }
        return make_app({**base, **config}, transports=wire.transports)

    return build
