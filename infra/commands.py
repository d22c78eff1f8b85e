"""The deployment commands of the `hub` CLI: tick, setup-webhooks, doctor (registered in hub.cli)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command()
@click.argument("type", type=click.Choice(["weather.watch", "weather.digest", "calendar.renew"]))
@with_appcontext
def tick(type: str) -> None:
    """Emit one schedule event now, as the deployed schedule would (for local runs)."""
    from hub.services import current_hub
    from infra.schedules import tick as emit

    acceptance = emit(current_app._get_current_object(), type)  # type: ignore[attr-defined]
    event = acceptance.event
    slot = f"{event.id} {event.source}/{event.type} {event.provider_id}"
    if acceptance.duplicate:
        click.echo(f"{slot}: already emitted for this slot")
        return
    # The run may be queued (HUB_TASKS=thread): wait for it, then say how it ended.
    hub = current_hub()
    hub.tasks.drain()
    event = hub.store.get(event.id) or event
    retry = event.summary()["next_attempt_at"] if event.status == "failed" else None
    click.echo(f"{slot}: {event.status}" + (f", retry at {retry}" if retry else ""))
    if event.last_error:
        click.echo(f"error: {event.last_error}")


@click.command("setup-webhooks")
@click.option("--url", required=True, help="The stage's public URL (API Gateway URL with its stage).")
@click.option("--stage", help="The stage these credentials belong to (default: HUB_STAGE).")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@with_appcontext
def setup_webhooks(url: str, stage: str | None, dry_run: bool) -> None:
    """Register hub with Telegram, Stripe, PayPal, Twilio and Google (idempotent)."""
    from hub.config import _parse_url
    from hub.errors import ConfigError
    from hub.services import current_hub
    from infra.setup_webhooks import StageMismatchError, run

    hub = current_hub()
    try:
        base = _parse_url("--url", url)
        steps = run(hub, base, stage=stage or hub.settings.hub_stage, dry_run=dry_run)
    except (StageMismatchError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    if dry_run:
        click.echo("dry run: nothing was changed")
    for step in steps:
        click.echo(step.line())
    if any(step.action in ("refused", "failed") for step in steps):
        raise SystemExit(1)


@click.command()
@with_appcontext
def doctor() -> None:
    """Check configuration and each provider's reachability; say what to fix."""
    from hub.services import current_hub
    from infra.doctor import FAIL, run

    checks = run(current_hub(), on_lambda=bool(current_app.config.get("HUB_ON_LAMBDA")))
    for check in checks:
        click.echo(check.line())
    if any(check.status == FAIL for check in checks):
        raise SystemExit(1)
