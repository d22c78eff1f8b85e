"""Run zappa for a stage the way hub must be deployed: one region, one bucket, the built package.

    python -m infra.package dev               # build/hub-dev.zip (first)
    python -m infra.deploy deploy dev         # later: update dev; status, schedule, tail, undeploy --yes

What it adds to a plain `zappa <command> <stage>`, and why:

- **The settings' region, whatever the shell says.** With credentials in the environment,
  zappa's `Zappa.load_credentials` builds its boto3 session from `AWS_DEFAULT_REGION` first
  and the settings' `aws_region` second, while its Lambda client alone is pinned to
  `aws_region`: a shell set to us-east-1 gets the function in eu-west-1 but the schedules,
  the CloudFormation stack and the API in us-east-1, pointing across regions. zappa runs
  here with `AWS_DEFAULT_REGION`/`AWS_REGION` set to the stage's `aws_region`.
- **One stable bucket per stage.** Without `s3_bucket` zappa picks a new random bucket on
  every run (and leaves each behind). The bucket is the stage's `s3_bucket`, else
  `HUB_DEPLOY_BUCKET`, else `<lambda name>-<account id>-<region>` (globally unique, and
  the same on every run).
- **The package `infra.package` built and checked.** It is uploaded to that bucket as
  `<lambda name>.zip` (one object, replaced on each update) and handed to zappa with
  `--zip s3://...`. zappa skips its IAM step when given a zip, so the execution role and
  its policy are made here first, with zappa's own code and settings.

`--settings-overlay FILE` merges a JSON object into the stage's settings for this run only
(the emulator test turns zappa's final `touch` off this way); zappa_settings.json is never
changed. Any argument after the stage goes to zappa unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "zappa_settings.json"
BUILD = ROOT / "build"
# zappa commands that take the package; the others only read or remove what exists.
WITH_PACKAGE = ("deploy", "update")
REGION_VARIABLES = ("AWS_DEFAULT_REGION", "AWS_REGION")


class DeployError(Exception):
    """A deploy that must not start; the message says what to do."""


@dataclass(frozen=True)
class Stage:
    name: str
    config: dict[str, Any]  # the stage's settings with `extends` resolved

    @property
    def lambda_name(self) -> str:
        return f"{self.config.get('project_name', 'hub')}-{self.name}"

    @property
    def region(self) -> str:
        region = self.config.get("aws_region")
        if not region:
            raise DeployError(f"stage {self.name} has no aws_region in zappa_settings.json: set one")
        return region

    @property
    def package(self) -> Path:
        return BUILD / f"hub-{self.name}.zip"


def load_stage(name: str, settings_path: Path = SETTINGS) -> Stage:
    settings = json.loads(settings_path.read_text())
    if name not in settings:
        raise DeployError(f"no stage {name!r} in {settings_path.name} (stages: {', '.join(settings)})")
    chain, config = [], settings[name]
    while True:
        chain.append(config)
        parent = config.get("extends")
        if not parent:
            break
        config = settings[parent]
    merged: dict[str, Any] = {}
    for layer in reversed(chain):  # zappa's order: the parent first, the stage's own keys win
        merged.update(layer)
    merged.pop("extends", None)
    return Stage(name, merged)


def bucket_name(stage: Stage, account_id: str, environ: dict[str, str]) -> str:
    """The stage's one deploy bucket: settings, then HUB_DEPLOY_BUCKET, then a stable default."""
    return (
        stage.config.get("s3_bucket")
        or environ.get("HUB_DEPLOY_BUCKET")
        or f"{stage.lambda_name}-{account_id}-{stage.region}".lower()
    )


def pin_region(stage: Stage, environ: dict[str, str]) -> str | None:
    """Point every AWS client at the stage's region; return a note when the shell said otherwise."""
    shell = {name: environ[name] for name in REGION_VARIABLES if environ.get(name)}
    for name in REGION_VARIABLES:
        environ[name] = stage.region
    others = {value for value in shell.values() if value != stage.region}
    if others:
        return (
            f"note: ignoring the shell's {', '.join(f'{k}={v}' for k, v in shell.items())}: "
            f"stage {stage.name} deploys to {stage.region} (zappa_settings.json aws_region)"
        )
    return None


def effective_settings(stage: Stage, bucket: str, overlay: dict[str, Any], folder: Path) -> Path:
    """zappa_settings.json with this run's additions for the stage, written into `folder`."""
    settings = json.loads(SETTINGS.read_text())
    pinned = {"s3_bucket": bucket, "aws_region": stage.region}
    settings[stage.name] = {**settings[stage.name], **pinned, **overlay}
    path = folder / "zappa_settings.json"
    path.write_text(json.dumps(settings, indent=2))
    return path


def upload_package(session: Any, stage: Stage, bucket: str) -> str:
    """Put the built package in the stage's bucket (made if missing); return its s3:// URL."""
    import botocore.exceptions

    s3 = session.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise DeployError(
                f"bucket {bucket} exists but is not yours to use ({exc}); "
                "choose another with s3_bucket or HUB_DEPLOY_BUCKET"
            ) from None
        where = (
            {}
            if stage.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": stage.region}}
        )
        s3.create_bucket(Bucket=bucket, **where)
    key = f"{stage.lambda_name}.zip"
    s3.upload_file(str(stage.package), bucket, key)
    return f"s3://{bucket}/{key}"


def ensure_role(settings_path: Path, stage: Stage) -> None:
    """The execution role and its policy, as `zappa deploy` makes them without --zip."""
    from zappa.cli import ZappaCLI

    cli = ZappaCLI()
    cli.api_stage = stage.name
    cli.load_settings(str(settings_path))
    if cli.manage_roles:
        cli.zappa.create_iam_roles()


def run_zappa(argv: list[str]) -> int:
    """`zappa <argv>` in this process, with the exit codes and clean-up of zappa's own entry point."""
    import traceback

    from zappa.cli import ZappaCLI

    cli = ZappaCLI()
    try:
        code = cli.handle(argv)
    except SystemExit as exit_:
        code = exit_.code
    except KeyboardInterrupt:
        code = 130
    except Exception:  # zappa prints its tracebacks and exits 255; so do we
        traceback.print_exc()
        code = 255
    finally:
        cli.on_exit()
    return code if isinstance(code, int) else (0 if code is None else 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.deploy", description=__doc__.split("\n")[0])
    parser.add_argument("command", help="a zappa command: deploy, update, status, schedule, undeploy, ...")
    parser.add_argument("stage")
    parser.add_argument("--settings-overlay", type=Path, help="JSON merged into the stage, this run only")
    args, zappa_args = parser.parse_known_args(argv)
    try:
        stage = load_stage(args.stage)
        if args.command in WITH_PACKAGE and not stage.package.exists():
            raise DeployError(
                f"build/{stage.package.name} is missing: run python -m infra.package {stage.name} first"
            )
        note = pin_region(stage, os.environ)  # type: ignore[arg-type]
        if note:
            print(note, file=sys.stderr)
        import boto3
        import botocore.exceptions

        # The same credentials zappa will use: the stage's profile_name, else the usual chain.
        session = boto3.Session(region_name=stage.region, profile_name=stage.config.get("profile_name"))
        try:
            account = session.client("sts").get_caller_identity()["Account"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise DeployError(
                f"AWS does not accept these credentials ({exc}); configure them as for the AWS CLI"
            ) from None
        bucket = bucket_name(stage, account, os.environ)  # type: ignore[arg-type]
        overlay = json.loads(args.settings_overlay.read_text()) if args.settings_overlay else {}
        os.chdir(ROOT)  # zappa reads the project folder (its websocket detection) from the cwd
        with tempfile.TemporaryDirectory(prefix="hub-deploy-") as folder:
            settings_path = effective_settings(stage, bucket, overlay, Path(folder))
            command = [args.command, stage.name, "-s", str(settings_path), *zappa_args]
            if args.command in WITH_PACKAGE:
                ensure_role(settings_path, stage)
                command += ["--zip", upload_package(session, stage, bucket)]
            print(
                f"zappa {args.command} {stage.name}: region {stage.region}, bucket {bucket}", file=sys.stderr
            )
            return run_zappa(command)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
