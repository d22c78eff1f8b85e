"""Non-finite numbers: refused as a bad payload by every JSON source, never in API output.

Python's json module reads `NaN`, `Infinity` and an overflowing `1e999999` as floats and
writes them back as `NaN`/`Infinity`, which is not JSON: strict parsers (browsers'
`JSON.parse` aside, most languages' standard ones) reject the whole document.
"""

from __future__ import annotations

import json
import math

import pytest

from hub.events import Event
from hub.services import hub_of
from tests.auxil.events import (
    load_event,
    stripe_request,
    telegram_request,
    twilio_json_request,
    twilio_request,
)
from tests.conftest import SECRETS, post

NON_FINITE = ["1e999999", "-1e999999", "NaN", "Infinity", "-Infinity"]


def stripe_with(number: str):  # noqa: ANN201
    event = load_event("stripe", "checkout.session.completed")
    body = json.dumps(event).replace('"amount_total": ', f'"amount_total": {number}, "was": ', 1)
    assert number in body
    return stripe_request(SECRETS["STRIPE_WEBHOOK_SECRET"], body)


def telegram_with(number: str):  # noqa: ANN201
    update = json.dumps(load_event("telegram", "message"))
    body = "{" + f'"probe": {number}, ' + update[1:]
    return telegram_request(SECRETS["TELEGRAM_WEBHOOK_SECRET"], body)


def twilio_with(number: str):  # noqa: ANN201
    params = json.dumps(load_event("twilio", "sms.received"))
    body = "{" + f'"probe": {number}, ' + params[1:]
    return twilio_json_request(SECRETS["TWILIO_AUTH_TOKEN"], body)


SOURCES = {"stripe": stripe_with, "telegram": telegram_with, "twilio": twilio_with}


@pytest.mark.parametrize("build", SOURCES.values(), ids=SOURCES.keys())
@pytest.mark.parametrize("number", NON_FINITE)
def test_a_non_finite_number_is_a_bad_payload_and_records_nothing(make_app, build, number) -> None:  # noqa: ANN001
    app = make_app()
    response = post(app.test_client(), build(number))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "bad_payload"
    assert hub_of(app).store.events() == []


def test_huge_integers_are_still_numbers(make_app) -> None:  # noqa: ANN001
    """Only non-finite floats are refused: JSON has no size limit on integers."""
    app = make_app()
    response = post(app.test_client(), stripe_with("1" + "0" * 40))
    assert response.status_code == 200
    assert len(hub_of(app).store.events()) == 1


def test_api_output_is_strict_json_even_for_a_stored_non_finite_value(make_app, admin_headers) -> None:  # noqa: ANN001
    """An event stored before non-finite numbers were refused must not poison the list."""
    app = make_app()
    client = app.test_client()
    hub_of(app).store.record(
        Event(source="stripe", type="invoice.paid", provider_id="evt_old", payload={"amount": math.inf})
    )
    response = client.get("/admin/api/events/" + hub_of(app).store.events()[0].id, headers=admin_headers)
    assert response.status_code == 200

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    strict = json.loads(response.get_data(as_text=True), parse_constant=refuse)
    assert strict["payload"] == {"amount": None}
    listed = client.get("/admin/api/events", headers=admin_headers)
    assert json.loads(listed.get_data(as_text=True), parse_constant=refuse)[0]["provider_id"] == "evt_old"


def test_twilio_form_values_stay_strings(make_app, admin_headers) -> None:  # noqa: ANN001
    """A form carries text only: "Infinity" there is a word, stored and shown as one."""
    app = make_app()
    params = {**load_event("twilio", "sms.received"), "NumSegments": "Infinity", "Body": "NaN"}
    response = post(app.test_client(), twilio_request(SECRETS["TWILIO_AUTH_TOKEN"], params))
    assert response.status_code == 200
    [event] = hub_of(app).store.events()
    assert (event.payload["NumSegments"], event.payload["Body"]) == ("Infinity", "NaN")
    shown = app.test_client().get(f"/admin/api/events/{event.id}", headers=admin_headers)
    assert '"NumSegments":"Infinity"' in shown.get_data(as_text=True).replace(" ", "")
