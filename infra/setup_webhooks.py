"""`hub setup-webhooks --url <public url>`: point every configured provider at this hub.

Idempotent: each step reads the provider's current setting first and changes only what
differs; `dry_run` prints the plan and changes nothing. Telegram allows one webhook per
bot, so a stage's bot is never pointed at another stage's URL: each stage has its own
bot token, and the URL's stage must be this configuration's `HUB_STAGE`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hub.providers import StageMismatchError, providers, resolve, stage_of

if TYPE_CHECKING:
    from hub.services import Hub

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Step:
    provider: str
    action: str  # unchanged | create | update | skipped | refused
    detail: str

    def line(self) -> str:
        return f"{self.provider:<9} {self.action:<9} {self.detail}"


def known_stages(settings_path: Path = ROOT / "zappa_settings.json") -> tuple[str, ...]:
    try:
        return tuple(json.loads(settings_path.read_text()))
    except (OSError, ValueError):
        return ("dev", "prod")


def check_stage(url: str, stage: str, stages: tuple[str, ...]) -> None:
    if not stage:
        raise StageMismatchError(
            "set HUB_STAGE (or --stage) to the stage these credentials belong to: each stage has "
            "its own Telegram bot, and Telegram keeps one webhook per bot"
        )
    url_stage = stage_of(url, stages)
    if url_stage and url_stage != stage:
        raise StageMismatchError(
            f"{url} is stage {url_stage!r} but this configuration (its bot token) is stage {stage!r}: "
            f"load the {url_stage} environment, or use the {stage} URL"
        )


def run(hub: Hub, url: str, *, stage: str, dry_run: bool) -> list[Step]:
    """Register every provider whose credentials are configured; one Step each, in the
    registry's order (each provider's declared `webhook_setup` step)."""
    base = url.rstrip("/")
    stages = known_stages()
    check_stage(base, stage, stages)
    steps = []
    for declared in providers():
        if declared.webhook_setup:
            step = resolve(declared.webhook_setup)
            action, detail = step(hub, base, stage=stage, stages=stages, dry_run=dry_run)
            steps.append(Step(declared.name, action, detail))
    return steps
