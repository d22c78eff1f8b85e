"""Build the Lambda package the way it must be built, then check its size.

    python -m infra.package dev prod          # build both stages into build/
    python -m infra.package dev --check-only  # measure build/hub-dev.zip again

zappa packages the *active* virtualenv and does not notice when its Python differs
from the Lambda runtime, so this script makes its own production-only virtualenv
(`build/.lambda-venv`) with the runtime's Python, installs hub's dependencies and zappa
into it (not hub itself: zappa copies the project folder), byte-compiles everything
with hash-based .pyc files (timestamp ones are ignored as stale on Lambda), runs
`zappa package <stage>` offline, removes from the zip what Lambda never loads (TRIMS, each
with the reason it is safe) and measures the result (infra.package_size).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from infra.package_size import UNZIPPED_BUDGET_MIB, ZIPPED_BUDGET_MIB, measure

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
VENV = BUILD / ".lambda-venv"  # hidden: zappa's websocket auto-detection skips it
PROJECT_PACKAGES = ("hub", "handlers", "integrations", "infra")


@dataclass(frozen=True)
class Trim:
    """Zip entries (an fnmatch pattern over the path inside the package) Lambda never reads."""

    pattern: str
    why: str

    def matches(self, name: str) -> bool:
        return fnmatchcase(name, self.pattern)


# Applied to the zip zappa wrote, after zappa's own exclusions (zappa_settings.json's
# `exclude`/`exclude_glob`, which already drop boto3/botocore, *.pyi, zappa's build tools,
# unused Google documents and twilio domains). What was checked and left in: third-party
# test folders (certifi's, 2 KB), docs (0.2 MiB, and httplib2 reads its cacerts.txt), and
# the source beside each .pyc (~40 MiB unzipped, ~8 MiB zipped): Python finds a
# __pycache__ .pyc only through its source, and shipping sourceless .pyc files instead would
# cost every traceback in CloudWatch and Sentry its source lines. Every rule must keep each
# remaining module importable: tests/infra/test_package_trim.py imports every module of
# each trimmed distribution without the trimmed files.
TRIMS = (
    Trim(
        "stripe/params/*",
        # 9.1 MiB unzipped, 2.1 MiB zipped: ~1700 TypedDicts describing request parameters.
        # Every stripe module imports them only under `if TYPE_CHECKING:` (a static check in
        # the test keeps that true across stripe releases) and the only other way in is the
        # lazy attribute `stripe.params`, which hub never reads: calls take plain dicts.
        "type checkers' parameter TypedDicts, imported only under TYPE_CHECKING",
    ),
    Trim(
        ".hypothesis/*",
        # zappa copies the project folder, and running the tests there leaves Hypothesis's
        # example database in it (~100 files): nothing imports it, and it is test data.
        "the test suite's Hypothesis database, left in the project folder by a test run",
    ),
)


def trimmed(name: str) -> Trim | None:
    """The rule that removes this zip entry, if any."""
    return next((rule for rule in TRIMS if rule.matches(name)), None)


def trim(zip_path: Path) -> int:
    """Rewrite zappa's zip without the TRIMS entries (names, modes and compression kept);
    returns how many entries were dropped."""
    staged = zip_path.with_name(zip_path.name + ".trim")
    dropped = 0
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(staged, "w") as target:
        for info in source.infolist():
            if trimmed(info.filename):
                dropped += 1
                continue
            target.writestr(info, source.read(info), compress_type=info.compress_type)
    staged.replace(zip_path)
    return dropped


def runtime_version(stage: str, settings_path: Path = ROOT / "zappa_settings.json") -> str:
    """'3.11' for a stage whose runtime is python3.11 (following `extends`)."""
    settings = json.loads(settings_path.read_text())
    config = settings[stage]
    while "runtime" not in config and config.get("extends"):
        config = settings[config["extends"]]
    return config.get("runtime", "python3.11").removeprefix("python")


def python_version(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def make_venv(python: str, fresh: bool) -> Path:
    """The production-only virtualenv: hub's dependencies and zappa, nothing for tests."""
    if fresh and VENV.exists():
        shutil.rmtree(VENV)
    if not (VENV / "bin" / "python").exists():
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", f"{ROOT}[deploy]"], check=True)
    # zappa copies the project folder itself; an installed copy would only be a duplicate.
    subprocess.run([*pip, "uninstall", "--yes", "hub"], check=True)
    return VENV


def byte_compile(venv: Path) -> None:
    """Hash-checked .pyc files stay valid after the zip resets every file's mtime."""
    site = next((venv / "lib").glob("python3*/site-packages"))
    targets = [str(site), *(str(ROOT / p) for p in PROJECT_PACKAGES)]
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "compileall",
            "-q",
            "-f",
            "-j",
            "0",
            "--invalidation-mode",
            "checked-hash",
            *targets,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def zappa_package(venv: Path, stage: str) -> Path:
    output = BUILD / f"hub-{stage}.zip"
    output.unlink(missing_ok=True)
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        # zappa builds a boto3 session while loading settings; packaging never calls AWS.
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
    }
    env.pop("PYTHONPATH", None)
    subprocess.run(
        [str(venv / "bin" / "zappa"), "package", stage, "-o", str(output), "--disable_progress"],
        check=True,
        cwd=ROOT,
        env=env,
    )
    dropped = trim(output)
    print(f"trimmed {dropped} entries Lambda never loads (infra.package.TRIMS)")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.split("\n")[0])
    parser.add_argument("stages", nargs="*", default=["dev"])
    parser.add_argument("--python", default=sys.executable, help="interpreter matching the runtime")
    parser.add_argument("--fresh", action="store_true", help="recreate build/.lambda-venv")
    parser.add_argument("--check-only", action="store_true", help="only measure existing zips")
    parser.add_argument("--budget-mib", type=float, default=UNZIPPED_BUDGET_MIB)
    parser.add_argument("--zipped-budget-mib", type=float, default=ZIPPED_BUDGET_MIB)
    args = parser.parse_args(argv)

    if not args.check_only:
        wanted = {runtime_version(stage) for stage in args.stages}
        have = python_version(args.python)
        if wanted != {have}:
            print(
                f"error: the Lambda runtime is Python {', '.join(sorted(wanted))} but {args.python} is "
                f"{have}; zappa would package it silently and Lambda would fail to import compiled "
                "wheels. Run with --python python" + sorted(wanted)[0],
                file=sys.stderr,
            )
            return 2
        BUILD.mkdir(exist_ok=True)
        venv = make_venv(args.python, args.fresh)
        byte_compile(venv)
    failed = False
    for stage in args.stages:
        zip_path = BUILD / f"hub-{stage}.zip" if args.check_only else zappa_package(VENV, stage)
        report = measure(
            zip_path, unzipped_budget_mib=args.budget_mib, zipped_budget_mib=args.zipped_budget_mib
        )
        print(report.text())
        failed = failed or not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
