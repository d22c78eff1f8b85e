"""Development secrets: made once into the instance folder so local requests are still signed.

hub never accepts an unverified request. With no keys configured (the embedded
default, dry-run on) it generates the missing webhook secrets and an admin token,
keeps them in `<instance>/dev-secrets.json`, and the playground and
`hub simulate` sign with the same values. With dry-run off nothing is generated:
a source without its secret stays disabled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from hub.config import Settings
from hub.errors import ConfigError

FILE_NAME = "dev-secrets.json"

_GENERATORS = {
    "hub_admin_token": lambda: "dev-admin-" + secrets.token_urlsafe(18),
    "telegram_webhook_secret": lambda: "dev-tg-" + secrets.token_urlsafe(24),
    "stripe_webhook_secret": lambda: "whsec_dev" + secrets.token_hex(16),
    "twilio_auth_token": lambda: "dev" + secrets.token_hex(16),
    "google_channel_token": lambda: "dev-goog-" + secrets.token_urlsafe(18),
    "paypal_webhook_id": lambda: "WH-DEV-" + secrets.token_hex(10).upper(),
    "hub_secret_key": lambda: secrets.token_hex(32),
}


def with_dev_secrets(settings: Settings) -> Settings:
    """Fill missing secrets: generated ones in dry-run, a derived session key otherwise."""
    if not settings.hub_dry_run:
        if settings.hub_secret_key or not settings.hub_admin_token:
            return settings
        # Many Lambda instances must agree on the session key without another variable.
        derived = hmac.new(settings.hub_admin_token.encode(), b"hub-session", hashlib.sha256)
        return dataclasses.replace(settings, hub_secret_key=derived.hexdigest())

    missing = [name for name in _GENERATORS if not getattr(settings, name)]
    if not missing:
        return settings
    stored = _load_or_create(Path(settings.instance_path) / FILE_NAME, missing)
    changes: dict[str, object] = {}
    for name in missing:
        value = stored[name]
        changes[name] = (value,) if name == "stripe_webhook_secret" else value
    return dataclasses.replace(settings, dev_secrets=tuple(missing), **changes)


def keep_once(path: Path, make: Callable[[], str]) -> str:
    """The text at `path`, made by `make()` and written owner-only if absent; first writer wins.

    For development material larger than a secret string (PayPal's development CA and
    signing certificate): two processes starting at once end up with the same file.
    """
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(make())
    try:
        os.link(tmp, path)  # fails if another process wrote it meanwhile: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text()


def _load_or_create(path: Path, names: list[str]) -> dict[str, str]:
    """The stored values, generating (once) those in `names` that the file lacks."""
    try:
        stored = _read(path)
        absent = [name for name in names if name not in stored]
        if absent:
            stored = _write(path, {**stored, **{name: _GENERATORS[name]() for name in absent}})
    except OSError as exc:
        raise ConfigError(
            f"cannot keep development secrets in {path} ({exc.strerror or exc}): set "
            "HUB_INSTANCE_PATH to a writable folder, or set the webhook secrets and "
            "HUB_ADMIN_TOKEN yourself"
        ) from None
    return stored


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    if path.stat().st_mode & 0o077:  # copied around with looser permissions: tighten
        os.chmod(path, 0o600)
    try:
        stored = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        stored = None
    if not isinstance(stored, dict) or not all(isinstance(v, str) and v for v in stored.values()):
        raise ConfigError(
            f"{path} is not a JSON object of development secrets: delete it and hub "
            "generates new ones (signed test requests must then be made again)"
        )
    return {k: v for k, v in stored.items() if k in _GENERATORS}


def _write(path: Path, values: dict[str, str]) -> dict[str, str]:
    """Write `values` readable by the owner only; the first process to create the file wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh, indent=2)
    try:
        if path.exists():
            os.replace(tmp, path)  # adding a name to an existing file
        else:
            # link() fails if another process created the file meanwhile: then its values
            # win, so two processes starting at once sign with the same secrets.
            try:
                os.link(tmp, path)
            except FileExistsError:
                existing = _read(path)
                if all(name in existing for name in values):
                    return existing
                return _write(path, {**values, **existing})  # theirs win where both have one
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)
