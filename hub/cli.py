"""The `hub` command: serve, inspect, replay, sweep and simulate (a Flask CLI group)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import click
from flask import current_app
from flask.cli import FlaskGroup, NoAppException, with_appcontext

from hub.runtime import current_hub, hub_of


def _create_app():  # noqa: ANN202 - FlaskGroup's factory hook
    from hub import create_app
    from hub.errors import ConfigError

    try:
        return create_app()
    except ConfigError as exc:  # the message names the variable: one line, no traceback
        raise ConfigProblem(f"configuration: {exc}") from None


class ConfigProblem(NoAppException):
    """A ConfigError as one `Error: ...` line, exit 1; a NoAppException so that Flask's
    command listing (`hub --help`) prints it cleanly too instead of a traceback."""

    exit_code = 1

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.ClickException.show(self, file)  # without the usage hint of a UsageError


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """hub: verified webhooks in, plain handlers out.

    Runs on the embedded default with no keys at all (SQLite, in-process cache,
    dry-run outbox). Configuration comes from HUB_* and provider variables, or .env.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--sweep-every", default=5.0, show_default=True, help="Seconds between retry sweeps.")
@with_appcontext
def serve(host: str, port: int, sweep_every: float) -> None:
    """Run hub locally, with a background sweep for retries."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    hub = hub_of(app)
    base = f"http://{host}:{port}"
    click.echo(f"hub is listening on {base}")
    click.echo(f"  dashboard:  {base}/admin  (log in with the admin token)")
    click.echo(f"  playground: {base}/admin/playground  (chat with the bot, no keys needed)")
    click.echo(f"  health:     {base}/healthz")
    click.echo(f"  admin API:  {base}/admin/api/events  (Authorization: Bearer <HUB_ADMIN_TOKEN>)")
    if "hub_admin_token" in hub.settings.dev_secrets:
        click.echo(f"  dev admin token: {hub.settings.hub_admin_token}")
    click.echo(f"  store: {hub.store.backend}  dry-run: {hub.settings.hub_dry_run}")
    click.echo(f"  try:  hub simulate telegram message --text '/help' --url {base}")
    _start_sweeper(app, sweep_every)
    # run_simple, not app.run: Flask ignores app.run() inside its own CLI.
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


def _start_sweeper(app, interval: float) -> None:  # noqa: ANN001
    def loop() -> None:
        while True:
            time.sleep(interval)
            try:
                with app.app_context():
                    hub_of(app).sweep()
            except Exception:  # keep sweeping; the error is logged by the app's logger
                app.logger.exception("sweep failed")

    threading.Thread(target=loop, name="hub-sweeper", daemon=True).start()


@main.command()
@click.option("--source", help="Only this source (telegram, stripe, twilio, google, ...).")
@click.option("--status", help="Only this status (received, processing, done, failed, dead).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@with_appcontext
def events(source: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """List recent events, newest first."""
    found = current_hub().store.events(source=source, status=status, limit=limit)
    if as_json:
        click.echo(json.dumps([e.summary() for e in found], indent=2))
        return
    if not found:
        click.echo("no events yet; send one with: hub simulate stripe checkout.session.completed")
        return
    click.echo(f"{'ID':<37} {'SOURCE':<9} {'TYPE':<28} {'STATUS':<10} {'TRIES':>5}  RECEIVED")
    for e in found:
        s = e.summary()
        click.echo(
            f"{e.id:<37} {e.source:<9} {e.type[:28]:<28} {e.status:<10} {e.attempts:>5}  {s['received_at']}"
        )


@main.command()
@click.argument("event_id")
@with_appcontext
def replay(event_id: str) -> None:
    """Run an event's handler again now (its attempts grow by one)."""
    hub = current_hub()
    if hub.store.get(event_id) is None:
        raise click.ClickException(f"no event {event_id}; list them with: hub events")
    result = hub.replay(event_id)
    if not result.ran or result.event is None:
        raise click.ClickException("the event is being handled right now; try again shortly")
    event = result.event
    click.echo(f"{event.id}: {event.status} after {event.attempts} attempt(s)")
    if result.error:
        click.echo(f"error: {result.error}")


@main.command()
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@with_appcontext
def sweep(limit: int) -> None:
    """Run due retries, recover events whose lease ran out, purge old ones."""
    report = current_hub().sweep(limit=limit)
    click.echo(
        f"ran {report.ran}: {report.done} done, {report.failed} failed (will retry), "
        f"{report.dead} dead; purged {report.purged} old event(s)"
    )


@main.command()
@click.argument("source", type=click.Choice(["stripe", "paypal", "telegram", "twilio", "google"]))
@click.argument("type")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="The running hub.")
@click.option("--text", help="Message text (telegram, twilio).")
@with_appcontext
def simulate(source: str, type: str, url: str, text: str | None) -> None:
    """Send a correctly signed sample event to a running hub.

    \b
    Examples:
      hub simulate stripe checkout.session.completed
      hub simulate paypal PAYMENT.CAPTURE.COMPLETED  (dev certificate: dry-run hubs only)
      hub simulate telegram message --text "/weather London"
      hub simulate twilio sms.received --text "WEATHER Oslo"
      hub simulate google exists
    """
    from hub.simulate import build

    try:
        signed = build(current_hub().settings, source, type, url, text)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    request = urllib.request.Request(
        signed.url(url), data=signed.body, headers=signed.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode()
    except urllib.error.URLError as exc:
        hint = f"no hub answered at {url} ({exc.reason}); start one with: hub serve"
        raise click.ClickException(hint) from None
    click.echo(f"POST {signed.path} -> {status}")
    if body:
        click.echo(body)
    if status >= 400:
        raise SystemExit(1)


# -- deployment commands (code in infra/)
from infra.commands import doctor, setup_webhooks, tick  # noqa: E402

main.add_command(tick)
main.add_command(setup_webhooks)
main.add_command(doctor)

from hub.poll import poll  # noqa: E402 - `hub poll` lives in its own module

main.add_command(poll)
