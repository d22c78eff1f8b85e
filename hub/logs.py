"""Structured logs: one line per event stage, carrying the event id; secrets scrubbed.

Locally lines are readable (`hub.events received evt_… stripe/checkout.session.completed`);
on Lambda they are JSON, one object a line, for CloudWatch queries.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii as _json_text  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any

from hub.json_text import dumps

if TYPE_CHECKING:
    from hub.events import Event

event_log = logging.getLogger("hub.events")

STAGE_LEVELS = {
    "received": logging.INFO,
    "duplicate": logging.INFO,
    "conflict": logging.WARNING,
    "handled": logging.INFO,
    "unhandled": logging.INFO,
    "failed": logging.WARNING,
    "retried": logging.INFO,
    "dead": logging.ERROR,
    "replayed": logging.INFO,
    "recovered": logging.WARNING,
}

# `received`: an outcome line (handled, failed, ...) that also stands for the event's arrival,
# when it ran inline in the request that brought it (one line per webhook, not two).
_FIELDS = ("stage", "event_id", "source", "event_type", "attempts", "error", "duration_ms", "received")


def log_stage(stage: str, event: Event, *, exc_info: BaseException | None = None, **fields: Any) -> None:
    level = STAGE_LEVELS.get(stage, logging.INFO)
    if not event_log.isEnabledFor(level):
        return
    extra = {
        "stage": stage,
        "event_id": event.id,
        "source": event.source,
        "event_type": event.type,
        "attempts": event.attempts,
        **fields,
    }
    exc = (type(exc_info), exc_info, exc_info.__traceback__) if exc_info is not None else None
    # The record made here, not by `Logger.log`: its search of the stack for the caller would
    # find this function anyway, and it is a fifth of a line's cost. Handlers, filters and
    # Sentry's logging integration see the record as they would. The fields go in at once
    # (`makeRecord` checks each `extra` key against the record's own attributes, one by one:
    # these names are hub's, and none is a LogRecord attribute).
    record = event_log.makeRecord(event_log.name, level, __file__, _LINE, stage, None, exc, "log_stage")
    vars(record).update(extra)
    event_log.handle(record)


_LINE = log_stage.__code__.co_firstlineno


# Secrets and personal data recognisable by shape, for values hub was never configured
# with (a customer's token in a payload, a phone number in a handler's error message).
# Form-encoded variants (%2B for "+", %40 for "@") matter: Twilio bodies are forms.
SENSITIVE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), "[key]"),
    (re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}"), "[bot-token]"),
    (re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{6,}"), "[api-key]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9_]+"), "[signing-secret]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [token]"),
    (re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "[email]"),
    (re.compile(r"(?<![\w+])(?:\+|%2B)\d[\d ().-]{5,18}\d"), "[phone]"),
)
# Literals each pattern above cannot match without (any one of them; the bearer pattern
# ignores case, so it is looked for in lowercased text). Most text (stage names, ids,
# sources) holds none, and seven regex passes over each of a log line's five fields were
# most of its cost (bench/load.py).
_NEEDLES: tuple[tuple[str, ...], ...] = (
    ("-----BEGIN ",),
    (":",),
    ("_live_", "_test_"),
    ("whsec_",),
    (),
    ("@", "%40"),
    ("+", "%2B"),
)
_SHAPES = tuple((p, r, n) for (p, r), n in zip(SENSITIVE_PATTERNS, _NEEDLES, strict=True))
# Any needle at all: one search tells that a text needs no shape looked for, instead of a
# check per shape. Literals only, so the regex engine skips to the positions where one of
# their first characters stands; "bearer" in any case is looked for apart: in the same
# pattern, `(?i:bearer)` made the engine try every alternative at every position (a hub
# event id took 13 k instructions, now 4 k, and every line has a new one).
_ANY_LITERAL_NEEDLE = re.compile("|".join(re.escape(n) for needles in _NEEDLES for n in needles))


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without the given secret values (longest first) and without sensitive shapes."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    if _ANY_LITERAL_NEEDLE.search(text) is None and "bearer" not in text.lower():
        return text
    for pattern, replacement, needles in _SHAPES:
        present = any(n in text for n in needles) if needles else "bearer" in text.lower()
        if present:
            text = pattern.sub(replacement, text)
    return text


_CACHED_LENGTH = 80  # stage names, sources, types and ids: short, and mostly repeating


class SecretScrubber(logging.Filter):
    """Replaces configured secrets and sensitive shapes in a record's message and fields."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._short: dict[str, str] = {}  # scrubbed short texts; cleared when full

    def scrub(self, text: str) -> str:
        if len(text) > _CACHED_LENGTH:
            return scrub_text(text, self.secrets)
        done = self._short.get(text)
        if done is None:
            if len(self._short) >= 1024:
                self._short.clear()
            done = self._short[text] = scrub_text(text, self.secrets)
        return done

    def filter(self, record: logging.LogRecord) -> bool:
        # Always runs: shapes are scrubbed even when no secret is configured.
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        fields = vars(record)  # `extra` lands here; a field a line lacks raises nothing to catch
        for name in _FIELDS:
            value = fields.get(name)
            if isinstance(value, str):
                fields[name] = self.scrub(value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, hub's fields, the exception.

    Written piece by piece rather than by `json.dumps` of a dict: a stage line (nine pairs,
    and every webhook writes one) took ~35 k instructions that way, ~22 k this way. The
    text is `json.dumps`'s own; tests/operator/test_logs.py compares the two.
    """

    _second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second[0]:  # lines come many a second: format each second once
            self._second = (second, f'{{"time": "{time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))}"')
        parts = [
            self._second[1],
            ', "level": ',
            _json_text(record.levelname),
            ', "logger": ',
            _json_text(record.name),
            ', "message": ',
            _json_text(record.getMessage()),
        ]
        fields = vars(record)
        for name, key in _FIELD_KEYS:
            value = fields.get(name)
            if value is not None:
                parts += (key, _json_text(value) if type(value) is str else _json_value(value))
        if record.exc_info or record.exc_text:
            parts += (', "exception": ', _json_text(record.exc_text or self.formatException(record.exc_info)))
        parts.append("}")
        return "".join(parts)


# Each field's `, "name": ` as json.dumps writes it between pairs.
_FIELD_KEYS = tuple((name, f", {_json_text(name)}: ") for name in _FIELDS)


def _json_value(value: Any) -> str:
    """A value that is not a str as json.dumps writes it (ints, floats and flags by hand)."""
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is int or (type(value) is float and value - value == 0):  # finite
        return repr(value)
    return dumps(value)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname:<7} {record.name} {record.getMessage()}"
        if getattr(record, "event_id", None):
            line += f" {record.event_id}"
            # Handlers log with just `event_id` in extra; stage logs also carry these.
            if getattr(record, "source", None):
                line += f" {record.source}/{record.event_type}"
            if getattr(record, "attempts", None):
                line += f" attempt={record.attempts}"
            if getattr(record, "error", None):
                line += f" error={record.error}"
        if record.exc_info or record.exc_text:
            line += "\n" + (record.exc_text or self.formatException(record.exc_info))
        return line


# Every logger tree hub's code writes to: handlers and integrations get the same scrubbing.
LOGGER_TREES = ("hub", "handlers", "integrations")


def configure_logging(secrets: Iterable[str], *, json_lines: bool, level: int = logging.INFO) -> None:
    """Install one handler on each of hub's logger trees (idempotent: a second app replaces it).

    With `json_lines` (on Lambda) the trees stop there: the Lambda runtime (and zappa's
    handler) put a handler on the root logger, which would print every line a second
    time in its own format, unscrubbed by hub's filter. Elsewhere lines still reach the
    root logger, where an embedding application (or pytest) may listen.
    """
    handler = logging.StreamHandler()
    handler._hub_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(SecretScrubber(secrets))
    for name in LOGGER_TREES:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            if getattr(old, "_hub_handler", False):
                logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = not json_lines
