"""Load zappa's Lambda handler offline with the settings module zappa generates for a stage.

zappa writes `zappa_settings.py` into the package from zappa_settings.json; the handler
imports it by name. The harness generates the same file with zappa's own code into a
temporary folder, puts that folder first on sys.path and resets the handler singleton,
so each test gets a cold start on its own database.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Environment the handler itself writes (zappa sets these on every cold start).
_HANDLER_WRITES = ("SERVERTYPE", "FRAMEWORK", "PROJECT", "STAGE")


@functools.cache
def settings_source(stage: str) -> str:
    """The text of zappa_settings.py as `zappa package <stage>` writes it."""
    from zappa.cli import ZappaCLI

    cwd = os.getcwd()
    os.chdir(ROOT)  # zappa scans the project folder while loading settings
    try:
        cli = ZappaCLI()
        cli.api_stage = stage
        cli.load_settings(str(ROOT / "zappa_settings.json"))
        return cli.get_zappa_settings_string()
    finally:
        os.chdir(cwd)


def settings_values(stage: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    exec(settings_source(stage), values)  # noqa: S102 - zappa's generated module is plain assignments
    return {k: v for k, v in values.items() if k.isupper()}


def _reset_singletons() -> None:
    from zappa.handler import LambdaHandler

    LambdaHandler._LambdaHandler__instance = None  # type: ignore[attr-defined]
    import zappa.handler

    zappa.handler.global_handler = None
    for name in ("zappa_settings", "hub.wsgi"):
        sys.modules.pop(name, None)


@contextmanager
def lambda_handler(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
    env: dict[str, str],
    *,
    environment_overrides: dict[str, str] | None = None,
) -> Iterator[Any]:
    """Yield a function `invoke(event) -> response` running zappa's handler for `stage`.

    `env` is the deploy environment (secrets, database); `environment_overrides` replace
    values the stage's settings write into the environment (tests keep dry-run on).
    """
    values = settings_values(stage)
    environment = {**values["ENVIRONMENT_VARIABLES"], **(environment_overrides or {})}
    folder = tmp_path / f"zappa-{stage}"
    folder.mkdir()
    source = settings_source(stage).replace(
        f"ENVIRONMENT_VARIABLES={values['ENVIRONMENT_VARIABLES']!r}",
        f"ENVIRONMENT_VARIABLES={environment!r}",
    )
    (folder / "zappa_settings.py").write_text(source)
    # Everything the handler writes into os.environ is registered with monkeypatch first,
    # so it is restored after the test.
    for key, value in {**env, **environment}.items():
        monkeypatch.setenv(key, value)
    for key in _HANDLER_WRITES:
        monkeypatch.setenv(key, os.environ.get(key, ""))
    monkeypatch.setenv("AWS_DEFAULT_REGION", environment.get("AWS_REGION", "eu-west-1"))
    monkeypatch.syspath_prepend(str(folder))
    _reset_singletons()
    from zappa.handler import LambdaHandler

    def invoke(event: dict[str, Any]) -> Any:
        return LambdaHandler.lambda_handler(event, None)

    try:
        yield invoke
    finally:
        wsgi = sys.modules.get("hub.wsgi")
        if wsgi is not None:
            from hub.services import hub_of

            hub_of(wsgi.app).tasks.drain()
            hub_of(wsgi.app).store.close()
        _reset_singletons()
