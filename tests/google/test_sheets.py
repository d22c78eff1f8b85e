"""append_sheet_row: recorded in dry-run, sent over the wire (token, then Sheets) when live."""

from __future__ import annotations

import google.auth.jwt
import pytest

from hub.context import Context
from hub.events import Event
from hub.services import hub_of
from integrations.google_api import GoogleNotConfiguredError
from integrations.google_sheets import append_sheet_row
from tests.google.conftest import ACCESS_TOKEN, TOKEN_URI


def context(app) -> Context:  # noqa: ANN001
    return Context(hub_of(app), Event("test", "sheet.row", "1", {}))


def test_no_sheet_configured_means_nothing_to_do(google_app, wire):
    ctx = context(google_app())
    assert append_sheet_row(ctx, ["a"]) is None
    assert ctx.store.outbox() == []


def test_dry_run_records_the_row_and_sends_nothing(make_app, wire):
    app = make_app({"GOOGLE_SHEET_ID": "sheet-1"}, transports=wire.transports)  # no credentials needed
    result = append_sheet_row(context(app), ["2024-02-12", 12.5, None])
    assert result is not None and result.entry.status == "recorded"
    assert (result.entry.integration, result.entry.action) == ("google", "sheets.values.append")
    assert result.entry.payload["values"] == [["2024-02-12", 12.5, ""]]
    assert result.entry.payload["spreadsheet_id"] == "sheet-1"
    assert wire.requests == []


def test_live_append_signs_a_token_request_then_appends_raw_values(
    google_app, wire, service_account, tmp_path
):
    key_file = tmp_path / "sa.json"
    key_file.write_text(service_account.json_text)  # the setting may be a path, too
    app = google_app(HUB_DRY_RUN="0", GOOGLE_SHEET_ID="sheet-1", GOOGLE_SERVICE_ACCOUNT_JSON=str(key_file))
    wire.token().answer(200, {"updates": {"updatedRange": "Sheet1!A5:B5"}})
    wire.answer(200, {"updates": {"updatedRange": "Sheet1!A6:B6"}})

    first = append_sheet_row(context(app), ["=IMPORTXML(1)", 3])
    second = append_sheet_row(context(app), ["b", 4])

    token, append, again = wire.requests  # one token for both: credentials built once
    assert (token.uri, token.method) == (TOKEN_URI, "POST")
    assert token.form()["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = google.auth.jwt.decode(
        token.form()["assertion"], certs={"test-key-1": service_account.public_pem}, audience=TOKEN_URI
    )
    assert claims["iss"] == "hub@hub-test.iam.gserviceaccount.com"
    assert "https://www.googleapis.com/auth/spreadsheets" in claims["scope"].split()
    assert append.uri.startswith("https://sheets.googleapis.com/v4/spreadsheets/sheet-1/values/A1:append?")
    assert append.query["valueInputOption"] == "RAW"
    assert append.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert append.json() == {"values": [["=IMPORTXML(1)", 3]]}
    assert again.json() == {"values": [["b", 4]]}
    assert (first.entry.status, first.entry.ref) == ("sent", "Sheet1!A5:B5")
    assert second.entry.ref == "Sheet1!A6:B6"


def test_a_broken_key_setting_is_named_without_echoing_it(make_app, wire):
    broken = {"HUB_DRY_RUN": "0", "GOOGLE_SHEET_ID": "s", "GOOGLE_SERVICE_ACCOUNT_JSON": "{not json"}
    app = make_app(broken, transports=wire.transports)
    with pytest.raises(GoogleNotConfiguredError) as caught:
        append_sheet_row(context(app), ["x"])
    assert "GOOGLE_SERVICE_ACCOUNT_JSON is neither" in str(caught.value)
    assert "{not json" not in str(caught.value)
    assert [e.status for e in hub_of(app).store.outbox()] == ["failed"]
