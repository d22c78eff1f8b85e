"""What infra.package removes from zappa's zip (TRIMS) must never break an import.

Each rule is checked three ways: on a small zip (the rewrite keeps everything else as
zappa wrote it), on the installed distribution it trims (every remaining module imports
without the trimmed files, and no module imports them outside `if TYPE_CHECKING:`, so a
new release that starts to is caught here), and on the built package when there is one
(CI builds it before the tests): zappa's handler answers webhooks from the trimmed zip.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import lambda_events
from infra.package import BUILD, TRIMS, trim, trimmed
from tests.auxil.unavailable import unavailable

ROOT = Path(__file__).resolve().parents[2]
# The distributions a rule trims files inside of (the project's own leftovers are no package).
TRIMMED_PACKAGES = sorted({rule.pattern.split("/", 1)[0] for rule in TRIMS} - {".hypothesis"})


def test_trimming_drops_only_the_rules_entries_and_keeps_the_rest_as_zappa_wrote_it(tmp_path) -> None:  # noqa: ANN001
    kept = {
        "handler.py": b"# zappa's handler",
        "stripe/__init__.py": b"# the package",
        "stripe/_webhook.py": b"# used",
        "stripe/paramsx.py": b"# only the folder goes, not a look-alike",
    }
    dropped = {
        "stripe/params/__init__.py": b"x",
        "stripe/params/__pycache__/_a.cpython-311.pyc": b"y",
        ".hypothesis/constants/25b511395256ea39": b"a test run's leftovers",
    }
    path = tmp_path / "hub.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**kept, **dropped}.items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = 0o755 << 16  # zappa chmods every file 755
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)

    assert trim(path) == len(dropped)

    with zipfile.ZipFile(path) as archive:
        assert {i.filename: archive.read(i) for i in archive.infolist()} == kept
        assert {i.external_attr >> 16 for i in archive.infolist()} == {0o755}
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}


def test_every_rule_says_why_and_keeps_what_the_package_check_requires() -> None:
    from infra.package_size import REQUIRED

    assert all(len(rule.why) > 20 for rule in TRIMS)
    assert not [name for name in REQUIRED if trimmed(name)]
    for name in (
        "stripe/__init__.py",
        "stripe/_webhook.py",
        "stripe/_stripe_client.py",
        "stripe/v2/__init__.py",
    ):
        assert trimmed(name) is None, name


def _installed(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec and spec.origin, package
    return Path(spec.origin).parent


_TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING", "_typing.TYPE_CHECKING")


def _runtime_imports_of_trimmed(folder: Path, package: str) -> list[str]:
    """Imports of trimmed modules that run at import time (not under `if TYPE_CHECKING:`)."""
    trimmed_modules = [rule.pattern.removesuffix("/*").replace("/", ".") for rule in TRIMS]
    found: list[str] = []

    def visit(node: ast.AST, module: str, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) in _TYPE_CHECKING:
                for sub in child.orelse:
                    visit_one(sub, module, where)
                continue
            visit_one(child, module, where)

    def visit_one(node: ast.AST, module: str, where: str) -> None:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parent = module.rsplit(".", node.level)[0]
                base = f"{parent}.{base}" if base else parent
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for name in names:
            if any(name == t or name.startswith(t + ".") for t in trimmed_modules):
                found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
                break
        visit(node, module, where)

    for source in folder.rglob("*.py"):
        relative = source.relative_to(folder.parent).as_posix()
        if trimmed(relative):
            continue
        parts = relative.removesuffix(".py").split("/")
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if parts[-1] == "__init__":
            module += ".__init__"  # so a relative import resolves against the package itself
        visit(ast.parse(source.read_bytes()), module, relative)
    return found


@pytest.mark.parametrize("package", TRIMMED_PACKAGES)
def test_no_module_left_in_the_package_imports_a_trimmed_one_at_run_time(package: str) -> None:
    assert _runtime_imports_of_trimmed(_installed(package), package) == []


IMPORT_ALL = """
import importlib, json, pkgutil, sys
package = __import__(sys.argv[1])
assert package.__file__.startswith(sys.argv[2]), package.__file__  # the copy, not the venv's
failed = {}
for found in pkgutil.walk_packages(package.__path__, sys.argv[1] + "."):
    try:
        importlib.import_module(found.name)
    except Exception as exc:  # noqa: BLE001 - report every module that does not import
        failed[found.name] = repr(exc)[:200]
print(json.dumps(failed))
"""


def _import_all(package: str, sys_path_first: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(sys_path_first)
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, package, str(sys_path_first)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _trimmed_copy(package: str, into: Path) -> Path:
    installed = _installed(package)
    shutil.copytree(installed, into / package, ignore=shutil.ignore_patterns("__pycache__"))
    for path in sorted((into / package).rglob("*"), reverse=True):
        relative = path.relative_to(into).as_posix()
        if path.is_file() and trimmed(relative):
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return into


@pytest.mark.slow
@pytest.mark.parametrize("package", TRIMMED_PACKAGES)
def test_every_module_left_in_a_trimmed_package_still_imports(tmp_path, package: str) -> None:  # noqa: ANN001
    whole = _import_all(package, _installed(package).parent)
    trimmed_copy = _trimmed_copy(package, tmp_path)
    assert any(not trimmed(p.relative_to(tmp_path).as_posix()) for p in trimmed_copy.rglob("*.py"))

    assert _import_all(package, trimmed_copy) == whole  # nothing new fails (whole: {} today)


CHECKOUT = """
import http.server, json, sys, threading
sys.path.insert(0, sys.argv[1])
import stripe
assert stripe.__file__.startswith(sys.argv[1])
seen = []

class Stripe(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        seen.append((self.path, self.rfile.read(int(self.headers["Content-Length"])).decode()))
        body = json.dumps({"id": "cs_test_1", "object": "checkout.session", "url": "https://checkout.test/1"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stripe)
threading.Thread(target=server.serve_forever, daemon=True).start()
client = stripe.StripeClient("sk_test_0", base_addresses={"api": f"http://127.0.0.1:{server.server_port}"})
session = client.v1.checkout.sessions.create(
    params={"mode": "payment", "line_items": [{"quantity": 1, "price_data": {"currency": "eur",
            "unit_amount": 500, "product_data": {"name": "coffee"}}}]},
    options={"idempotency_key": "hub-evt-1-checkout"},
)
print(json.dumps({"id": session.id, "url": session.url, "seen": seen}))
"""


@pytest.mark.slow
def test_a_checkout_session_is_created_through_the_trimmed_stripe(tmp_path) -> None:  # noqa: ANN001
    copy = _trimmed_copy("stripe", tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", CHECKOUT, str(copy)], capture_output=True, text=True, timeout=120, check=True
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])

    assert (answer["id"], answer["url"]) == ("cs_test_1", "https://checkout.test/1")
    [(path, form)] = answer["seen"]
    assert path == "/v1/checkout/sessions" and "line_items[0][price_data][unit_amount]=500" in form


DRIVER = """
import json, sys
sys.path[:0] = [{pkg!r}, {runtime!r}]
import handler
answers = [handler.lambda_handler(event, None) for event in json.loads(sys.stdin.read())]
print(json.dumps([{{"status": a["statusCode"], "body": a.get("body", "")}} for a in answers]))
"""


@pytest.mark.slow
def test_the_built_package_answers_webhooks_from_its_trimmed_zip(tmp_path) -> None:  # noqa: ANN001
    package = BUILD / "hub-dev.zip"
    if not package.exists():
        unavailable("HUB_REQUIRE_PACKAGE", "no build/hub-dev.zip: run python -m infra.package dev first")
    from bench.coldstart import BENCH_SECRETS, lambda_env, run_driver, runtime_dir, unzip
    from hub.config import load_settings
    from integrations.samples import stripe_event, telegram_message

    with zipfile.ZipFile(package) as archive:
        assert not [name for name in archive.namelist() if trimmed(name)]  # infra.package trimmed it
    settings = load_settings(BENCH_SECRETS, tmp_path, environ={})
    events = [
        lambda_events.http_v2(telegram_message(settings, "/help"), "dev"),
        lambda_events.http_v2(stripe_event(settings, "checkout.session.completed"), "dev"),
    ]
    env = {**lambda_env("dev"), "HUB_DATABASE": str(tmp_path / "hub.sqlite3"), "HUB_DRY_RUN": "1"}
    env["HUB_INSTANCE_PATH"] = str(tmp_path / "instance")

    pkg = unzip(package, tmp_path / "pkg")
    answers = run_driver(DRIVER, pkg, runtime_dir(tmp_path / "runtime"), events, env, "the package")

    assert [a["status"] for a in answers] == [200, 200]
    reply = json.loads(answers[0]["body"])
    assert reply["method"] == "sendMessage" and "/weather" in reply["text"]
