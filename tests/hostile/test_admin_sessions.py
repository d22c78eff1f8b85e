"""Admin sessions end on the server (logout, a new token, 12 hours), `next` cannot break the
redirect, and wrong tokens are throttled per client in the shared store."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.admin.auth import MAX_TOKEN_FAILURES, SESSION_MAX_AGE_SECONDS, THROTTLE_WINDOW_SECONDS
from hub.services import hub_of
from integrations.samples import stripe_event
from tests.conftest import ADMIN_TOKEN, post
from tests.operator.admin_session import BROWSER, log_in
from tests.store.conftest import Clock

SECRET_KEY = {"HUB_SECRET_KEY": "s" * 32}  # what every instance of one deployment shares


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def instances(request: pytest.FixtureRequest, make_app) -> Callable[..., Flask]:  # noqa: ANN001
    """Build hub instances that share one store (one SQLite file, or one Redis prefix) and
    one clock, as Lambda instances of one deployment do."""
    shared = dict(SECRET_KEY)
    if request.param == "redis":
        shared.update(request.getfixturevalue("redis_config"))
    clock = Clock()

    def build(**config: str) -> Flask:
        app = make_app({**shared, **config})
        hub_of(app).store.clock = clock
        app.extensions["test_clock"] = clock
        return app

    return build


def copy_of(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another browser (or an attacker) holding a copy of `client`'s session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def replay(client: FlaskClient, event_id: str, csrf: str) -> int:
    return client.post(f"/admin/api/events/{event_id}/replay", headers={"X-CSRF-Token": csrf}).status_code


def test_logout_ends_every_copy_of_the_session_on_every_instance(instances) -> None:  # noqa: ANN001
    first, second = instances(), instances()
    event = stripe_event(hub_of(first).settings, "invoice.paid")
    event_id = post(first.test_client(), event).json["event_id"]
    browser = first.test_client()
    csrf = log_in(browser)
    stolen = copy_of(browser, second)
    assert replay(stolen, event_id, csrf) == 200, "the copy works while the session lives"

    assert browser.post("/admin/logout", data={"csrf_token": csrf}).status_code == 303
    assert replay(stolen, event_id, csrf) == 401, "refused on the other instance too"
    assert stolen.get("/admin", headers=BROWSER).status_code == 401
    assert replay(copy_of(stolen, first), event_id, csrf) == 401

    assert log_in(first.test_client()), "logging in again works"


def test_a_token_changed_and_changed_back_still_ends_older_sessions(instances) -> None:  # noqa: ANN001
    old = instances()
    browser = old.test_client()
    log_in(browser)
    rotated = instances(HUB_ADMIN_TOKEN="a-brand-new-admin-token")
    assert copy_of(browser, rotated).get("/admin", headers=BROWSER).status_code == 401
    log_in(rotated.test_client(), "a-brand-new-admin-token")
    rolled_back = instances()  # the old token again, e.g. a deploy rolled back
    assert copy_of(browser, rolled_back).get("/admin", headers=BROWSER).status_code == 401


def test_a_session_lasts_12_hours(instances) -> None:  # noqa: ANN001
    app = instances()
    clock = app.extensions["test_clock"]
    browser = app.test_client()
    log_in(browser)
    clock.advance(SESSION_MAX_AGE_SECONDS - 5)
    assert browser.get("/admin", headers=BROWSER).status_code == 200
    clock.advance(10)
    assert browser.get("/admin", headers=BROWSER).status_code == 401
    assert browser.get("/admin/api/events").status_code == 401


BROKEN_NEXT = ["/admin\r\nSet-Cookie: evil=1", "/admin/outbox\n", "/admin\x00", "/admin\t/x"]


@pytest.mark.parametrize("target", BROKEN_NEXT)
def test_a_control_character_in_next_gives_a_safe_redirect(make_app, target) -> None:  # noqa: ANN001
    client = make_app().test_client()
    response = client.post("/admin/login", data={"token": ADMIN_TOKEN, "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin"
    assert client.get("/admin", headers=BROWSER).status_code == 200


def test_a_failed_login_sets_no_cookie(make_app) -> None:  # noqa: ANN001
    client = make_app().test_client()
    response = client.post("/admin/login", data={"token": "wrong", "next": "/admin\r\nX: y"})
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers


def test_next_inside_admin_is_kept(make_app) -> None:  # noqa: ANN001
    client = make_app().test_client()
    response = client.post("/admin/login", data={"token": ADMIN_TOKEN, "next": "/admin/outbox?event_id=e1"})
    assert response.headers["Location"] == "/admin/outbox?event_id=e1"


# -- throttling ----------------------------------------------------------------------------

GUESSER, ELSEWHERE = {"REMOTE_ADDR": "203.0.113.7"}, {"REMOTE_ADDR": "198.51.100.20"}


def login_as(app: Flask, token: str, where: dict[str, str]):  # noqa: ANN201
    return app.test_client().post("/admin/login", data={"token": token}, environ_base=where)


def test_wrong_tokens_are_throttled_per_client_across_instances(instances) -> None:  # noqa: ANN001
    first, second = instances(), instances()
    for attempt in range(MAX_TOKEN_FAILURES):
        app = (first, second)[attempt % 2]  # the guesses spread over two instances
        assert login_as(app, f"guess-{attempt}", GUESSER).status_code == 401

    throttled = login_as(first, "guess-next", GUESSER)
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= THROTTLE_WINDOW_SECONDS
    assert "Set-Cookie" not in throttled.headers
    assert login_as(second, ADMIN_TOKEN, GUESSER).status_code == 429, "not even the right token"
    bearer = second.test_client().get(
        "/admin/api/events", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, environ_base=GUESSER
    )
    assert bearer.status_code == 429 and bearer.json["error"] == "too_many_attempts"
    assert int(bearer.headers["Retry-After"]) > 0

    assert login_as(first, ADMIN_TOKEN, ELSEWHERE).status_code == 303, "the admin elsewhere logs in"
    assert (
        second.test_client()
        .get("/admin/api/events", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, environ_base=ELSEWHERE)
        .status_code
        == 200
    )

    first.extensions["test_clock"].advance(THROTTLE_WINDOW_SECONDS + 1)
    assert login_as(first, ADMIN_TOKEN, GUESSER).status_code == 303, "the window closed"


def test_wrong_bearer_tokens_count_too(make_app) -> None:  # noqa: ANN001
    client = make_app().test_client()
    answers = [
        client.get("/admin/api/events", headers={"Authorization": f"Bearer no-{i}"}, environ_base=GUESSER)
        for i in range(MAX_TOKEN_FAILURES + 1)
    ]
    assert [a.status_code for a in answers] == [401] * MAX_TOKEN_FAILURES + [429]
    assert set(answers[-1].json) == {"error", "message"}


def test_a_session_opened_before_the_guessing_keeps_working(make_app) -> None:  # noqa: ANN001
    """Requests with a session present no token: a guesser on the same address (an office
    behind one NAT) does not lock the logged-in admin out."""
    app = make_app()
    browser = app.test_client()
    log_in(browser)
    for i in range(MAX_TOKEN_FAILURES + 1):
        app.test_client().post("/admin/login", data={"token": f"guess-{i}"})
    assert login_as(app, ADMIN_TOKEN, {"REMOTE_ADDR": "127.0.0.1"}).status_code == 429
    assert browser.get("/admin", headers=BROWSER).status_code == 200
    assert browser.get("/admin/api/events").status_code == 200
