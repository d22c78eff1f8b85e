"""The PayPal declaration resolves, and hub's present tables agree with it."""

from __future__ import annotations

import importlib
from importlib import resources

from hub.config import Settings
from hub.simulate import PATHS, sample_types
from hub.webhooks import INTAKES
from integrations.paypal_provider import PAYPAL


def resolve(reference: str) -> object:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def test_every_reference_resolves_to_a_callable():
    simulate = PAYPAL["simulate"]
    references = [
        PAYPAL["verifier"],
        PAYPAL["responder"],
        PAYPAL["webhook_setup"],
        PAYPAL["doctor_check"],
        *PAYPAL["asks"].values(),
        simulate["sign"],
        simulate["dev_signer"],
    ]
    for reference in references:
        assert callable(resolve(reference)), reference
    importlib.import_module(PAYPAL["handlers"])


def test_hubs_tables_agree_with_the_declaration(app):
    [(path, intake_name)] = PAYPAL["routes"].items()
    intake = INTAKES[intake_name]
    assert f"{intake.module}:{intake.verify}" == PAYPAL["verifier"]
    assert f"{intake.module}:{intake.respond}" == PAYPAL["responder"]
    assert intake.secret_variable == PAYPAL["secret_setting"]
    assert PATHS["paypal"] == path and path in {r.rule for r in app.url_map.iter_rules()}
    assert (resources.files("hub") / "samples" / "paypal").is_dir() and sample_types("paypal")
    fields = {f.upper() for f in Settings.__dataclass_fields__}
    assert set(PAYPAL["settings"]) <= fields
    from hub.admin.integrations import INTEGRATIONS

    assert {name for name, _ in INTEGRATIONS["PayPal"]} <= set(PAYPAL["settings"])
    assert all(PAYPAL["settings"][name] == secret for name, secret in INTEGRATIONS["PayPal"])
