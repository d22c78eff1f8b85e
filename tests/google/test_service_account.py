"""Built Google credentials are shared only by apps with the same key: a key file replaced
at the same path is used by the next app built in the process, not the old one."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from hub.services import hub_of
from integrations import google
from tests.google.conftest import ServiceAccount, new_service_account


def signs_as(credentials, account: ServiceAccount) -> bool:  # noqa: ANN001
    """Whether `credentials` sign (their token requests) with `account`'s private key."""
    public_key = serialization.load_pem_public_key(account.public_pem)
    try:
        public_key.verify(credentials.sign_bytes(b"probe"), b"probe", padding.PKCS1v15(), hashes.SHA256())
    except Exception:  # cryptography's InvalidSignature
        return False
    return True


def test_a_key_file_replaced_at_the_same_path_is_used_by_the_next_app(make_app, tmp_path) -> None:  # noqa: ANN001
    old, new = new_service_account(), new_service_account()
    key_file = tmp_path / "service-account.json"
    key_file.write_text(old.json_text)
    first = make_app({"GOOGLE_SERVICE_ACCOUNT_JSON": str(key_file)})
    assert signs_as(google.apis(hub_of(first).settings).credentials, old)

    key_file.write_text(new.json_text)  # the key was rotated
    second = make_app({"GOOGLE_SERVICE_ACCOUNT_JSON": str(key_file)})
    assert signs_as(google.apis(hub_of(second).settings).credentials, new)


def test_apps_with_the_same_key_share_its_built_services(make_app, service_account) -> None:  # noqa: ANN001
    first = make_app({"GOOGLE_SERVICE_ACCOUNT_JSON": service_account.json_text})
    second = make_app({"GOOGLE_SERVICE_ACCOUNT_JSON": service_account.json_text})
    assert google.apis(hub_of(first).settings) is google.apis(hub_of(second).settings)
