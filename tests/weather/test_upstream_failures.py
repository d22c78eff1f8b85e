"""OpenWeatherMap timing out, rate-limiting or failing: a clear answer, never a hang or a crash."""

from __future__ import annotations

import pytest
import requests
import responses

from hub.services import hub_of
from integrations.samples import telegram_message
from tests.conftest import post

OWM = "https://api.openweathermap.org/data/2.5/weather"
FAILURES = {
    "read timeout": {"body": requests.exceptions.ReadTimeout("read timed out")},
    "rate limited": {"status": 429, "json": {"cod": 429, "message": "Your account is temporary blocked"}},
    "server error": {"status": 500, "json": {"cod": 500, "message": "Internal error"}},
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
@responses.activate
def test_a_failing_upstream_gets_a_clear_answer_and_the_event_is_done(make_app, failure):
    app = make_app({"OPENWEATHER_API_KEY": "owm-secret-key-123456"})
    hub = hub_of(app)
    responses.get(OWM, **failure)

    answer = post(app.test_client(), telegram_message(hub.settings, "/weather Oslo"))

    assert answer.status_code == 200
    assert answer.json["text"] == (
        "Sorry, the weather service is not answering right now. Try again in a few minutes."
    )
    assert "owm-secret-key" not in answer.get_data(as_text=True)
    [call] = responses.calls
    connect, read = call.request.req_kwargs["timeout"]  # bounded: a chat reply never hangs on OWM
    assert 0 < connect <= 5 and 0 < read <= 15
    [event] = hub.store.events()
    assert event.status == "done" and not event.last_error
