"""Source-level checks: every verifier compares secrets in constant time, never with `==`.

A `==` on a secret leaks, through its timing, how much of a guess was right; behaviour
tests cannot see that, so the source is read instead.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re

import pytest

from hub.providers import routes

# Every module that turns a request into an Event (each declared route's), and the admin login.
VERIFIERS = sorted({route.verify.partition(":")[0] for route in routes().values()} | {"hub.admin.auth"})
# How each known verifier compares in constant time.
CONSTANT_TIME = {
    "hub.admin.auth": "hmac.compare_digest(",
    "integrations.google_webhook": "hmac.compare_digest(",
    "integrations.stripe": "hmac.compare_digest(",
    "integrations.telegram_webhook": "hmac.compare_digest(",
    # The SDK's RequestValidator compares with its own constant-time `compare` (checked below).
    "integrations.twilio": "RequestValidator(",
}
SECRETISH = re.compile(r"secret|token|signature|digest|given|offered|proof|fingerprint", re.I)


def identifiers(node: ast.AST) -> set[str]:
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def secret_equalities(source: str) -> list[str]:
    """`==` / `!=` comparisons that involve something named like a secret."""
    found = []
    for node in ast.walk(ast.parse(source)):
        ops = node.ops if isinstance(node, ast.Compare) else []
        equality = any(isinstance(op, ast.Eq | ast.NotEq) for op in ops)
        if equality and any(SECRETISH.search(name) for name in identifiers(node)):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("module", VERIFIERS)
def test_no_verifier_compares_a_secret_with_equals(module: str) -> None:
    source = inspect.getsource(importlib.import_module(module))
    assert secret_equalities(source) == []


@pytest.mark.parametrize("module", sorted(CONSTANT_TIME))
def test_every_verifier_compares_in_constant_time(module: str) -> None:
    assert module in VERIFIERS, "a verifier that is no longer one: update this table"
    assert CONSTANT_TIME[module] in inspect.getsource(importlib.import_module(module))


def test_the_twilio_sdk_compares_in_constant_time() -> None:
    """Twilio's `compare` must look at every character whatever the first difference."""
    from twilio import request_validator

    source = inspect.getsource(request_validator.compare)
    assert "for c1, c2 in zip(string1, string2)" in source and "return False" not in source.split("for")[1]


def test_the_check_sees_a_comparison_with_equals() -> None:
    compared = "given.encode() == settings.telegram_webhook_secret.encode()"
    source = f"def verify(given, settings):\n    return {compared}\n"
    assert secret_equalities(source) == [f"line 2: {compared}"]
    assert secret_equalities("ok = item[0] == SCHEME and exc.status != 429\n") == []
