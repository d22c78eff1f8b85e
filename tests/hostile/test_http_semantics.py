"""What schemathesis found: 405 answers name the allowed methods, an empty filter is a bad
filter, and the published schema asks for what hub really requires."""

from __future__ import annotations

import pytest

from integrations.samples import PATHS

WRONG_METHODS = [
    ("GET", PATHS["stripe"], {"POST"}),
    ("PUT", PATHS["telegram"], {"POST"}),
    ("DELETE", "/healthz", {"GET", "HEAD", "OPTIONS"}),
    ("POST", "/admin/api/events", {"GET", "HEAD", "OPTIONS"}),
    ("GET", "/admin/api/events/evt_x/replay", {"POST", "OPTIONS"}),
    ("PATCH", "/openapi.json", {"GET", "HEAD", "OPTIONS"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), WRONG_METHODS)
def test_a_405_names_the_allowed_methods_and_is_json(make_app, admin_headers, method, path, allowed) -> None:  # noqa: ANN001
    response = make_app().test_client().open(path, method=method, headers=admin_headers)
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= allowed
    assert response.json["error"] == "method_not_allowed"


BAD_FILTERS = ["status=", "status=%20", "status=DONE", "limit=", "limit=%C2%B2", "limit=%D9%A3"]


@pytest.mark.parametrize("query", BAD_FILTERS)
def test_a_bad_or_empty_filter_is_a_400(make_app, admin_headers, query) -> None:  # noqa: ANN001
    """`²` is a digit to str.isdigit() but not to int() (a 500 before); the Arabic-Indic `٣`
    is one to both, and the schema's integer is ASCII."""
    response = make_app().test_client().get(f"/admin/api/events?{query}", headers=admin_headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] in ("bad_status", "bad_limit")


def test_outbox_limit_takes_ascii_digits_only(make_app, admin_headers) -> None:  # noqa: ANN001
    response = make_app().test_client().get("/admin/api/outbox?limit=%C2%B2", headers=admin_headers)
    assert response.status_code == 400


def test_the_schema_does_not_offer_an_empty_secret_header(make_app) -> None:  # noqa: ANN001
    """A schema-valid request must not be one hub refuses for its form: no empty signature."""
    client = make_app().test_client()
    paths = client.get("/openapi.json").json["paths"]
    required = {
        (path, p["name"]): p["schema"]
        for path, item in paths.items()
        for p in item.get("post", {}).get("parameters", [])
        if p["in"] == "header" and p.get("required")
    }
    assert ("/webhooks/stripe", "Stripe-Signature") in required
    for (path, name), schema in required.items():
        assert schema.get("minLength", 0) >= 1, f"{path} offers an empty {name}"
    empty = client.post(
        PATHS["stripe"], data=b"{}", headers={"Content-Type": "application/json", "Stripe-Signature": ""}
    )
    assert empty.status_code == 400, "and hub does refuse it"


def test_an_empty_status_filter_is_documented_as_refused(make_app) -> None:  # noqa: ANN001
    paths = make_app().test_client().get("/openapi.json").json["paths"]
    status = next(p for p in paths["/admin/api/events"]["get"]["parameters"] if p["name"] == "status")
    assert "" not in status["schema"]["enum"]
