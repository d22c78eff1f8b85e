"""The `hub` command: serve, inspect, replay, sweep and simulate (a Flask CLI group)."""

from __future__ import annotations

import errno
import importlib
import json
import logging
import shutil
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, NoAppException, with_appcontext

from hub.admin.recipients import shown_recipient, without_phones
from hub.admin.timeline import handled, shown_status
from hub.deliveries import DELIVERY_STATUSES
from hub.faults import MAX_PLANNED_FAILURES
from hub.logs import LOGGER_TREES
from hub.services import current_hub, hub_of
from hub.simulate import simulate_types, sources

EVENT_TYPE_WIDTH = 48  # `hub events`: longer types are cut, with an ellipsis


def _create_app():  # noqa: ANN202 - FlaskGroup's factory hook
    from hub import create_app
    from hub.errors import ConfigError

    try:
        app = create_app()
    except ConfigError as exc:  # the message names the variable: one line, no traceback
        raise ConfigProblem(f"configuration: {exc}") from None
    # A command says what happened in its own lines; hub's INFO log would repeat it on
    # stderr. Warnings and errors still show. `hub serve` turns INFO back on.
    _log_at(logging.WARNING)
    return app


def _log_at(level: int) -> None:
    for name in LOGGER_TREES:
        logging.getLogger(name).setLevel(level)


class ConfigProblem(NoAppException):
    """A ConfigError as one `Error: ...` line, exit 1; a NoAppException, what Flask's app
    loading is expected to raise (help never loads the app, so it never shows this)."""

    exit_code = 1

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.ClickException.show(self, file)  # without the usage hint of a UsageError


class HubGroup(FlaskGroup):
    """Flask's CLI group, minus loading the app to list commands: every hub command is
    registered here, so `hub --help` opens no store, writes no secret and logs nothing."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)


@click.group(cls=HubGroup, create_app=_create_app, add_default_commands=False)
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
    from werkzeug.serving import make_server

    from hub.app import announce

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    hub = hub_of(app)
    listening = _listen(host, port)  # before the banner: a busy port is said first, alone
    server = make_server(host, port, app, threaded=True, fd=listening.fileno())
    base = f"http://{host}:{server.port}"
    click.echo(f"hub is listening on {base}")
    click.echo(f"  dashboard:  {base}/admin  (log in with the admin token)")
    click.echo(f"  playground: {base}/admin/playground  (chat with the bot, no keys needed)")
    click.echo(f"  health:     {base}/healthz")
    click.echo(f"  admin API:  {base}/admin/api/events  (Authorization: Bearer <HUB_ADMIN_TOKEN>)")
    if "hub_admin_token" in hub.settings.dev_secrets:
        click.echo(f"  dev admin token: {hub.settings.hub_admin_token}")
    click.echo(f"  store: {hub.store.backend}  dry-run: {hub.settings.hub_dry_run}")
    click.echo(f"  try:  {command_as_typed()} simulate telegram message --text '/help' --url {base}")
    _log_at(logging.INFO)  # a server's log is what its operator watches
    announce(app)
    _start_sweeper(app, sweep_every)
    # A werkzeug server, not app.run: Flask ignores app.run() inside its own CLI.
    try:
        server.serve_forever()
    finally:
        listening.close()


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), or a ClickException that says what to do instead."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror:
        raise click.ClickException(f"cannot listen on {host!r}: no such address (try 127.0.0.1)") from None
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's own server
    try:
        listening.bind((host, port))
        listening.listen(128)
    except OSError as exc:
        listening.close()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"port {port} on {host} is already in use (another hub serve?). "
                f"Stop that program, or pick another port: {command_as_typed()} serve --port {port + 1}"
            ) from None
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    listening.set_inheritable(True)
    return listening


def command_as_typed(argv0: str | None = None) -> str:
    """How to run this same `hub` from the shell it was started in: `hub` when PATH finds
    it, else the path that was run (`.venv/bin/hub`), so a suggested command works as typed."""
    script = Path(argv0 if argv0 is not None else sys.argv[0])
    if script.name != "hub":  # not the console script (a test runner, python -c): the name
        return "hub"
    found = shutil.which("hub")
    if found and Path(found).resolve() == script.resolve():
        return "hub"
    absolute = script.absolute()
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return str(absolute)
    return str(relative) if relative.parent != Path(".") else f"./{relative}"  # not a PATH lookup


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
    hub = current_hub()
    found = hub.store.events(source=source, status=status, limit=limit)
    if as_json:
        click.echo(json.dumps([{**e.summary(), "handled": handled(hub, e)} for e in found], indent=2))
        return
    if not found:
        first = f"{command_as_typed()} simulate stripe checkout.session.completed"
        click.echo(f"no events yet; send one with: {first}")
        return
    types = {e.id: _cut(e.type, EVENT_TYPE_WIDTH) for e in found}
    width = max(len("TYPE"), *(len(t) for t in types.values()))
    click.echo(f"{'ID':<37} {'SOURCE':<9} {'TYPE':<{width}} {'STATUS':<10} {'TRIES':>5}  RECEIVED")
    for e in found:
        row = f"{e.id:<37} {e.source:<9} {types[e.id]:<{width}} {shown_status(hub, e):<10} {e.attempts:>5}"
        click.echo(f"{row}  {e.summary()['received_at']}")


@main.command()
@click.option("--status", type=click.Choice(DELIVERY_STATUSES), help="Only this status.")
@click.option("--event", "event_id", help="Only the deliveries this event's handlers told.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the admin API's view) instead of a table.")
@with_appcontext
def deliveries(status: str | None, event_id: str | None, limit: int, as_json: bool) -> None:
    """List recent deliveries (messages handlers told), newest first; phone numbers masked."""
    found = current_hub().store.deliveries(event_id=event_id, status=status, limit=limit)
    if as_json:
        click.echo(json.dumps([d.summary() for d in found], indent=2))
        return
    if not found:
        click.echo("no deliveries" + (" match" if status or event_id else " yet"))
        return
    click.echo(f"{'ID':<37} {'CHANNEL':<8} {'RECIPIENT':<16} {'STATUS':<8} {'TRIES':>5}  LAST ERROR")
    for d in found:
        to = _cut(shown_recipient(d.channel, d.address), 16)
        error = _cut(without_phones(d.last_error).replace("\n", " "), 60)
        click.echo(f"{d.id:<37} {d.channel:<8} {to:<16} {d.status:<8} {d.attempts:>5}  {error}".rstrip())


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@main.command()
@click.argument("event_id")
@with_appcontext
def replay(event_id: str) -> None:
    """Run an event's handler again now (its attempts grow by one)."""
    hub = current_hub()
    if hub.store.get(event_id) is None:
        raise click.ClickException(f"no event {event_id}; list them with: {command_as_typed()} events")
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
    sent = report.deliveries
    click.echo(
        f"deliveries: {sent.sent} sent, {sent.failed} failed (will retry), {sent.dead} dead, "
        f"{sent.skipped} skipped, {sent.lost} lost to another runner, {sent.deferred} deferred"
        + ("; more are due: sweep again" if sent.more else "")
    )


class SimulateCommand(click.Command):
    """`hub simulate`, whose help lists each source's sample types (read when help is asked)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Sample types"):
            formatter.write_dl([(source, ", ".join(simulate_types(source))) for source in sources()])
        super().format_epilog(ctx, formatter)


def _known_type(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An unknown type is a usage error naming the known ones (before any app is built)."""
    source = ctx.params.get("source", "")
    known = simulate_types(source)
    if value not in known:
        raise click.BadParameter(f"{value!r} is not a {source} sample; known: {', '.join(known)}")
    return value


class FailCount(click.ParamType):
    """`--fail N` (the first N attempts fail) or a bare `--fail` (every attempt: it goes dead)."""

    name = "N"
    UNTIL_DEAD = "dead"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if value == self.UNTIL_DEAD or isinstance(value, int):
            return value  # type: ignore[return-value]
        text = str(value)
        if not text.isdigit() or not 1 <= int(text) <= MAX_PLANNED_FAILURES:
            self.fail(f"{text!r} is not a number of attempts from 1 to {MAX_PLANNED_FAILURES}", param, ctx)
        return int(text)


@main.command(cls=SimulateCommand)
@click.argument("source", type=click.Choice(sources()))
@click.argument("type", callback=_known_type)
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="The running hub.")
@click.option("--text", help="Message text (telegram, twilio).")
@click.option(
    "--fail",
    type=FailCount(),
    is_flag=False,
    flag_value=FailCount.UNTIL_DEAD,
    default=None,
    help="Dry-run hubs only: the event's first N attempts fail on purpose, to watch retries; "
    "without N every attempt fails, so it goes dead and `hub replay` runs it.",
)
@with_appcontext
def simulate(source: str, type: str, url: str, text: str | None, fail: int | str | None) -> None:
    """Send a correctly signed sample event to a running hub.

    \b
    Examples:
      hub simulate stripe checkout.session.completed
      hub simulate paypal PAYMENT.CAPTURE.COMPLETED  (dev certificate: dry-run hubs only)
      hub simulate telegram message --text "/weather London"
      hub simulate twilio sms.received --text "WEATHER Oslo"
      hub simulate google exists
      hub simulate stripe invoice.paid --fail 2    (fails twice, then succeeds on retry)
    """
    from hub.simulate import build

    settings = current_hub().settings
    if fail is not None and not settings.hub_dry_run:
        # The mark is signed with this configuration's secrets, so the hub that verifies it
        # shares this configuration: a live one, which ignores the mark.
        raise click.UsageError("--fail works only against a dry-run hub (HUB_DRY_RUN=1); this one is live")
    failures = settings.hub_max_attempts if fail == FailCount.UNTIL_DEAD else int(fail or 0)
    try:
        signed = build(settings, source, type, url, text, fail=failures)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from None
    request = urllib.request.Request(signed.url(url), data=signed.body, headers=signed.headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode()
    except urllib.error.URLError as exc:
        hint = f"no hub answered at {url} ({exc.reason}); start one with: {command_as_typed()} serve"
        raise click.ClickException(hint) from None
    click.echo(f"POST {signed.path} -> {status}")
    if body:
        click.echo(body)
    if status >= 400:
        raise SystemExit(1)
    if failures:
        _explain_failures(failures, settings.hub_max_attempts, source, _event_id(body))


def _event_id(body: str) -> str:
    """The event id a hub's JSON answer names (Stripe, Google), else a placeholder."""
    try:
        answer = json.loads(body)
    except ValueError:
        return "<id>"
    return str(answer.get("event_id") or "<id>") if isinstance(answer, dict) else "<id>"


def _explain_failures(failures: int, max_attempts: int, source: str, event_id: str) -> None:
    hub_ = command_as_typed()
    if failures >= max_attempts:
        click.echo(f"its {max_attempts} attempts fail on purpose, with backoff, then it is dead;")
        click.echo(f"  watch: {hub_} events --source {source}   then run it again: {hub_} replay {event_id}")
    else:
        click.echo(f"its first {failures} attempt(s) fail on purpose, then a retry succeeds;")
        click.echo(f"  watch: {hub_} events --source {source}   (retries follow HUB_RETRY_BASE_SECONDS)")


# -- deployment commands (code in infra/)
from infra.commands import doctor, setup_webhooks, tick  # noqa: E402

main.add_command(tick)
main.add_command(setup_webhooks)
main.add_command(doctor)

# -- tools that live beside their integration, named by string so that hub imports no
# integration (as the webhook table does); their modules load no SDK until they run.
TOOL_COMMANDS = ("integrations.telegram_polling:poll",)

for _tool in TOOL_COMMANDS:
    _module, _, _name = _tool.partition(":")
    main.add_command(getattr(importlib.import_module(_module), _name))
