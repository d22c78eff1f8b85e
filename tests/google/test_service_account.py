"""Built Google credentials are shared only by apps with the same key and transport: a key
file replaced at the same path is used by the next app built in the process, not the old
one, and an app's Google requests go over the transport it was given."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from hub.context import Context
from hub.events import Event
from hub.services import hub_of
from integrations.google_api import apis
from integrations.google_sheets import append_sheet_row
from tests.google.conftest import GoogleWire, ServiceAccount, new_service_account


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
    assert signs_as(apis(hub_of(first)).credentials, old)

    key_file.write_text(new.json_text)  # the key was rotated
    second = make_app({"GOOGLE_SERVICE_ACCOUNT_JSON": str(key_file)})
    assert signs_as(apis(hub_of(second)).credentials, new)


def test_apps_with_the_same_key_share_its_built_services(make_app, service_account) -> None:  # noqa: ANN001
    first = make_app({"GOOGLE_SERVICE_ACCOUNT_JSON": service_account.json_text})
    second = make_app({"GOOGLE_SERVICE_ACCOUNT_JSON": service_account.json_text})
    assert apis(hub_of(first)) is apis(hub_of(second))


def test_each_app_talks_to_google_over_its_own_transport(make_app, service_account) -> None:  # noqa: ANN001
    """The transport is the app's (`create_app(transports=...)`): same key, other wire, own
    credentials - so one app's requests, and its token, never reach the other's wire."""
    config = {
        "HUB_DRY_RUN": "0",
        "GOOGLE_SHEET_ID": "sheet-1",
        "GOOGLE_SERVICE_ACCOUNT_JSON": service_account.json_text,
    }
    first_wire, second_wire = GoogleWire(), GoogleWire()
    first = make_app(config, transports=first_wire.transports)
    second = make_app(config, transports=second_wire.transports)
    first_wire.token().answer(200, {"updates": {"updatedRange": "Sheet1!A1:A1"}})
    second_wire.token().answer(200, {"updates": {"updatedRange": "Sheet1!A2:A2"}})

    for app in (first, second):
        append_sheet_row(Context(hub_of(app), Event("test", "sheet.row", "1", {})), ["x"])

    assert apis(hub_of(first)) is not apis(hub_of(second))
    for wire in (first_wire, second_wire):  # each its own token request, then its append
        assert [r.path for r in wire.requests] == ["/token", "/v4/spreadsheets/sheet-1/values/A1:append"]
