"""Reading request bodies for verifiers: strict types, clear 4xx errors, never a 500."""

from __future__ import annotations

import functools
import io
import json
import math
from typing import Any

from flask import Request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_content_length

from hub.errors import BadRequestError, PayloadTooLargeError, RequestTimeoutError, UnsupportedMediaTypeError

MAX_BODY_BYTES = 1024 * 1024


def require_content_type(request: Request, *allowed: str, allow_missing: bool = False) -> None:
    """415 unless the body's media type is one of `allowed` (or absent, with `allow_missing`)."""
    mimetype = media_type(request)
    if allow_missing and not mimetype:
        return
    if mimetype not in allowed:
        raise UnsupportedMediaTypeError(
            f"expected a body of type {' or '.join(allowed)}, got {mimetype or 'none'}"
        )


def environ_key(header: str) -> str:
    """Where a request header sits in the WSGI environ ("Stripe-Signature" -> HTTP_STRIPE_SIGNATURE):
    read there directly, it costs no trip through werkzeug's header view."""
    return "HTTP_" + header.upper().replace("-", "_")


def media_type(request: Request) -> str:
    """`request.mimetype` ("application/json", lowercase, without parameters; "" if none)."""
    # The Content-Type header is CONTENT_TYPE in the WSGI environ (werkzeug's headers read it there).
    return _media_type(request.environ.get("CONTENT_TYPE", ""))


@functools.lru_cache(maxsize=64)
def _media_type(content_type: str) -> str:
    """Parsed once per distinct header: a provider sends the same Content-Type every time."""
    return parse_options_header(content_type)[0].lower()


def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, at most `limit` bytes (413 otherwise), kept for the verifier.

    A declared Content-Length is refused before reading, and a body that fits is read from
    the WSGI input in one call; a chunked body is read by werkzeug's limited stream up to
    the limit, then one byte more tells if it was longer.
    """
    environ = request.environ
    kept = environ.get(_BODY_KEY)
    if kept is not None:
        if len(kept) > limit:
            raise _too_large(limit)
        return kept
    # `request.content_length`, read from the environ (the property asks the headers for
    # Content-Length and Transfer-Encoding on each access, a KeyError caught for the latter).
    declared = get_content_length(environ)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    # Once werkzeug has opened its stream (`request.form` read first), the input is its.
    straight = declared is not None and "stream" not in vars(request)
    data = _read_declared(environ, declared) if straight else _read_streamed(request, limit, declared)
    environ[_BODY_KEY] = data
    return data


# Where the body read once is kept: in the request's own environ, for every later reader.
_BODY_KEY = "hub.body"


def _read_declared(environ: dict[str, Any], declared: int) -> bytes:
    """A body of known length, straight from the server's input (werkzeug's stream, its
    wrappers and its cache cost a webhook ~45 k instructions more for the same bytes).
    The input is then replaced by the bytes read, so werkzeug's own readers (`request.form`,
    `get_data`) still find the whole body."""
    try:
        data = environ["wsgi.input"].read(declared) if declared else b""
    except TimeoutError:
        # The server cut off a body that arrived too slowly (infra/gunicorn_worker.py).
        raise RequestTimeoutError("the body did not arrive in time", code="request_timeout") from None
    except (OSError, ValueError):
        raise ClientDisconnected() from None  # werkzeug's answer to a broken read: a 400
    if len(data) < declared:
        raise ClientDisconnected()  # the client went away before the body it announced
    environ["wsgi.input"] = io.BytesIO(data)
    return data


def _read_streamed(request: Request, limit: int, declared: int | None) -> bytes:
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    except ClientDisconnected as exc:
        # The server cut off a body that arrived too slowly (infra/gunicorn_worker.py):
        # werkzeug reports every read error as a disconnect, with the cause as context.
        if isinstance(exc.__context__, TimeoutError):
            raise RequestTimeoutError("the body did not arrive in time", code="request_timeout") from None
        raise
    if len(data) > limit:  # an app without MAX_CONTENT_LENGTH read the stream to its end
        raise _too_large(limit)
    if len(data) == limit and declared is None and _more_follows(request):
        # werkzeug cuts a streamed body at MAX_CONTENT_LENGTH without a word: a truncated
        # body would then fail verification with a misleading 400/403 instead of 413.
        raise _too_large(limit)
    return data


def _more_follows(request: Request) -> bool:
    try:
        return bool(request.environ["wsgi.input"].read(1))
    except (OSError, ValueError):  # the client went away: nothing more follows
        return False


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"the body is larger than {limit // 1024} KiB; webhooks are small")


def body_text(request: Request) -> str:
    try:
        return read_body(request).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("the body is not valid UTF-8", code="bad_payload") from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999999 is valid JSON text, but no number hub could use
        raise ValueError(f"{text} is not a finite number")
    return value


# One decoder for every body: `json.loads(..., parse_constant=...)` builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_no_constants, parse_float=_finite_float)


def json_object(text: str) -> dict[str, Any]:
    """Parse a JSON object (not a list, string or number); NaN, Infinity and numbers that
    overflow to them (1e999999) are refused."""
    try:
        data = _DECODER.decode(text)
    except (ValueError, RecursionError):
        raise BadRequestError("the body is not valid JSON", code="bad_payload") from None
    if not isinstance(data, dict):
        raise BadRequestError("the body must be a JSON object", code="bad_payload")
    return data


def required_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequestError(f"the payload has no {key!r} string", code="bad_payload")
    return value
