"""The provider registry: every declaration resolves, and every consumer shows what it declares.

A provider is one declaration (integrations/<name>_provider.py, listed in
integrations/registry.py) naming its code by "module:attribute"; these tests are what
makes a wrong name fail before a request, a command or the dashboard finds it.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from hub.admin.integrations import integration_table
from hub.config import Settings
from hub.providers import Provider, provider, providers, resolve, routes, senders
from hub.services import hub_of
from hub.simulate import sample_types, simulate_types, sources

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {f.name.upper() for f in dataclasses.fields(Settings)}


def readme_settings() -> set[str]:
    """Every name in the first cell of a row of the README's configuration table."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| name | meaning | default |") :].split("\n\n", 1)[0]
    cells = [line.split("|")[1] for line in table.splitlines()[2:]]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", "\n".join(cells)))


@pytest.mark.parametrize("declared", providers(), ids=lambda p: p.name)
def test_every_reference_resolves(declared: Provider) -> None:
    for reference in declared.references():
        assert callable(resolve(reference)), reference  # functions, and exception classes
    for sender in declared.senders:
        if sender.refusal:
            assert issubclass(resolve(sender.refusal), Exception), sender.refusal


def test_a_wrong_reference_does_not_resolve() -> None:
    with pytest.raises(AttributeError):
        resolve("integrations.stripe:no_such_verifier")
    with pytest.raises(ModuleNotFoundError):
        resolve("integrations.no_such_module:verify")
    with pytest.raises(ValueError, match="module:attribute"):
        resolve("integrations.stripe.verify")


def test_names_routes_and_channels_are_unique() -> None:
    names = [p.name for p in providers()]
    declared_routes = [r for p in providers() for r in p.routes]
    channels = [s.channel for p in providers() for s in p.senders]
    assert len(set(names)) == len(names)
    assert len({r.endpoint for r in declared_routes}) == len(declared_routes)
    assert len({r.path for r in declared_routes}) == len(declared_routes)
    assert len(set(channels)) == len(channels) and set(channels) == set(senders())


def test_every_declared_setting_is_a_setting_and_documented() -> None:
    documented = readme_settings()
    for declared in providers():
        names = {s.name for s in declared.settings}
        for name in names:
            assert name in FIELDS, f"{declared.name}: {name} is no Settings field"
            assert name in documented, f"{declared.name}: {name} is not in the README's configuration table"
        for route in declared.routes:
            assert route.secret_setting in names, route.endpoint
        if declared.doctor:
            assert set(declared.doctor.needs) <= names, declared.name


def test_every_provider_setting_is_declared_by_its_provider() -> None:
    # A new TWILIO_* field that no declaration names would be missing from the card and docs.
    prefixes = {"TELEGRAM_": "telegram", "STRIPE_": "stripe", "PAYPAL_": "paypal", "TWILIO_": "twilio"}
    prefixes |= {"OPENWEATHER_": "weather", "GOOGLE_": "google"}
    for name in FIELDS:
        for prefix, owner in prefixes.items():
            if name.startswith(prefix):
                assert name in {s.name for s in provider(owner).settings}, name


def test_the_card_shows_each_providers_settings_as_declared(app) -> None:  # noqa: ANN001
    card = {row.name: row for row in integration_table(app.extensions["hub"].settings)}
    for declared in providers():
        shown = [s for s in declared.settings if s.shown]
        assert [s.name for s in card[declared.title].settings] == [s.name for s in shown]
        for setting, row in zip(shown, card[declared.title].settings, strict=True):
            assert row.state != "missing" or not setting.optional, setting.name
    assert list(card)[-2:] == ["Sentry", "Hub"]  # hub's own, after the providers


def test_every_declared_route_is_served_and_described(app, client) -> None:  # noqa: ANN001
    served = {r.rule: r.endpoint for r in app.url_map.iter_rules()}
    paths = client.get("/openapi.json").json["paths"]
    for route in routes().values():
        assert served[route.path] == f"webhooks.{route.endpoint}"
        assert route.described is not None
        assert paths[route.path]["post"]["summary"] == route.described.summary


def test_every_simulated_source_has_samples_and_a_route() -> None:
    paths = {r.path for r in routes().values()}
    assert sources() == sorted(p.name for p in providers() if p.simulation)
    for source in sources():
        simulation = provider(source).simulation
        assert simulation is not None and simulate_types(source), source
        if not simulation.types:
            assert sample_types(source), f"hub/samples/{source}/ holds no sample"
        assert any(path.startswith(f"/webhooks/{source}") for path in paths), source


def test_declarations_import_nothing_but_the_shape() -> None:
    # Loading the registry must cost nothing on a cold start: no provider module, no SDK.
    declarations = sorted((ROOT / "integrations").glob("*_provider.py"))
    allowed = {"__future__", "hub.providers"} | {f"integrations.{p.stem}" for p in declarations}
    for path in [*declarations, ROOT / "integrations" / "registry.py"]:
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        assert imported <= allowed, path.name


def test_setup_and_doctor_steps_take_what_their_callers_pass() -> None:
    for declared in providers():
        if declared.webhook_setup:
            parameters = inspect.signature(resolve(declared.webhook_setup)).parameters
            assert {"stage", "stages", "dry_run"} <= set(parameters), declared.name
        if declared.doctor:
            assert len(inspect.signature(resolve(declared.doctor.probe)).parameters) == 1, declared.name


@pytest.fixture
def with_acme(monkeypatch):  # noqa: ANN001, ANN201
    """The registry with one more provider, declared once (tests/auxil/acme.py)."""
    monkeypatch.setattr("hub.providers.REGISTRY", "tests.auxil.acme:PROVIDERS")
    providers.cache_clear()
    yield
    providers.cache_clear()


def test_one_declaration_puts_a_provider_everywhere(with_acme, make_app) -> None:  # noqa: ANN001
    from hub.cli import main
    from hub.simulate import build

    app = make_app({"HUB_DRY_RUN": "0", "HUB_STAGE": "prod", "HUB_SECRET_KEY": "acme-secret-123"})
    hub = app.extensions["hub"]
    client = app.test_client()

    signed = build(hub.settings, "acme", "thing.happened", "http://localhost", id="acme-7")
    assert client.post(signed.path, data=signed.body, headers=signed.headers).status_code == 200
    assert [e.provider_id for e in hub.store.events(source="acme")] == ["acme-7"]
    wrong = {**signed.headers, "X-Acme-Token": "nope"}
    assert client.post(signed.path, data=signed.body, headers=wrong).status_code == 403

    assert client.get("/openapi.json").json["paths"]["/webhooks/acme"]["post"]["summary"] == "An Acme event."
    card = {row.name: row for row in integration_table(hub.settings)}
    assert [s.name for s in card["Acme"].settings] == ["HUB_SECRET_KEY"]
    assert "acme" in sources()
    runner = app.test_cli_runner()
    doctor = runner.invoke(main, ["doctor"]).output
    assert any(line.split()[:2] == ["ok", "acme"] and "acme answers" in line for line in doctor.splitlines())
    url = "https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod"
    setup = runner.invoke(main, ["setup-webhooks", "--url", url, "--dry-run"]).output
    assert f"acme      create    {url}/webhooks/acme" in setup


def test_every_secret_a_provider_declares_is_scrubbed(make_app):
    declared = [s.name for p in providers() for s in p.settings if s.secret]
    # Values each setting's own check accepts (Stripe's start whsec_, a key file is JSON).
    shaped = {"STRIPE_WEBHOOK_SECRET": "whsec_{}", "GOOGLE_SERVICE_ACCOUNT_JSON": '{{"k": "{}"}}'}
    config = {name: shaped.get(name, "{}").format(f"value-of-{name.lower()}") for name in declared}
    scrubbed = hub_of(make_app({**config, "HUB_DRY_RUN": "1"})).settings.secret_values()
    assert set(config.values()) <= set(scrubbed)
