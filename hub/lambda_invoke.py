"""An asynchronous Invoke of this Lambda function, signed with AWS Signature Version 4.

`HUB_TASKS=lambda` hands each acknowledged event to a second invocation of the function.
zappa's task module does that through boto3, and on a cold start importing boto3 and
building its client costs ~60 ms on a fast core (several times that on a 512 MB Lambda)
inside the webhook's answer. This module sends the same message zappa's handler routes
(`command: zappa.asynchronous.route_lambda_task`) as one HTTPS request, signed with the
credentials Lambda puts in the environment, on a connection kept for the next one
(hub.lambda_http).
`tests/infra/test_lambda_invoke.py` holds the signature equal to botocore's `SigV4Auth`.

https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import ssl
import threading
import time
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii as _json_text  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from hub.lambda_http import EndedEarly, KeptConnection, MalformedAnswer

if TYPE_CHECKING:
    from datetime import datetime

SERVICE = "lambda"
ALGORITHM = "AWS4-HMAC-SHA256"
TIMEOUT_SECONDS = 5.0
AMZ_DATE = "%Y%m%dT%H%M%SZ"  # X-Amz-Date: UTC, to the second
ROUTE = "zappa.asynchronous.route_lambda_task"  # what zappa's handler runs for a task message


class InvokeError(Exception):
    """The invocation was not accepted; the event stays due and the sweep runs it."""


def task_message(task_path: str, *args: Any) -> dict[str, Any]:
    """The message zappa's handler routes to `task_path(*args)` (as zappa.asynchronous sends it)."""
    return {
        "task_path": task_path,
        "capture_response": False,
        "response_id": None,
        "args": list(args),
        "kwargs": {},
        "command": ROUTE,
    }


def task_body(task_path: str, *args: Any) -> bytes:
    """`task_message` as JSON bytes, exactly as `json.dumps` writes it: string arguments (an
    event id) go into the text worked out once per task, anything else through json.dumps."""
    if not all(type(arg) is str for arg in args):
        return json.dumps(task_message(task_path, *args)).encode()
    before, after = _body_around_args(task_path)
    return f"{before}{', '.join([_json_text(arg) for arg in args])}{after}".encode()


@functools.lru_cache(maxsize=8)
def _body_around_args(task_path: str) -> tuple[str, str]:
    before, after = json.dumps(task_message(task_path)).split('"args": []')
    return before + '"args": [', "]" + after


def invoke_async(task_path: str, *args: Any, environ: Mapping[str, str] = os.environ) -> None:
    """Queue `task_path(*args)` in an asynchronous invocation of this function (202 from Lambda)."""
    target = _target(tuple([environ.get(name, "") for name in _TARGET_ENVIRON]))
    body = task_body(task_path, *args)
    headers = {"Content-Type": "application/json", "X-Amz-Invocation-Type": "Event"}
    headers.update(sign("POST", target.host, target.path, body, headers, target.credentials, target.region))
    status, answer = _CONNECTIONS.post(target, body, headers)
    if status != 202:
        # Lambda's error body names the problem (AccessDenied, TooManyRequests, ...); it holds no secret.
        raise InvokeError(f"Lambda Invoke answered {status}: {answer[:300]!r}")


# What the Invoke's endpoint, function and credentials are read from, each read once per Invoke
# (`os.environ.get` is four Python calls).
_TARGET_ENVIRON = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ENDPOINT_URL",
)


@functools.lru_cache(maxsize=4)
def _target(values: tuple[str, ...]) -> _Target:
    """The target those variables name, worked out once while they stay the same."""
    return _Target(dict(zip(_TARGET_ENVIRON, values, strict=True)))


class _Target:
    def __init__(self, environ: Mapping[str, str]) -> None:
        missing = [
            k
            for k in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
            if not environ.get(k)
        ]
        self.region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or ""
        if missing or not self.region:
            raise InvokeError(f"cannot invoke: {', '.join(missing) or 'AWS_REGION'} not in the environment")
        endpoint = (
            environ.get("AWS_ENDPOINT_URL_LAMBDA")
            or environ.get("AWS_ENDPOINT_URL")
            or f"https://lambda.{self.region}.amazonaws.com"
        )
        url = urlsplit(endpoint)
        self.https = url.scheme == "https"
        self.host = url.netloc
        function = quote(environ["AWS_LAMBDA_FUNCTION_NAME"], safe="")
        self.path = f"/2015-03-31/functions/{function}/invocations"
        token = environ.get("AWS_SESSION_TOKEN", "")
        self.credentials = (environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"], token)


def sign(
    method: str,
    host: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    credentials: tuple[str, str, str],
    region: str,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers that sign this request (X-Amz-Date, X-Amz-Security-Token, Authorization).

    Every header given is signed, plus Host and those added here. `path` is the request's
    (percent-encoded, no dot segments, no query string); the canonical request encodes it
    once more, as SigV4 asks of every service but S3.
    """
    access_key, secret_key, token = credentials
    moment = now.strftime(AMZ_DATE) if now else time.strftime(AMZ_DATE, time.gmtime())
    around = _canonical_request_around(method, host, path, tuple(headers.items()), token)
    before_date, after_date, names = around
    canonical = f"{before_date}{moment}{after_date}{hashlib.sha256(body).hexdigest()}"
    scope = f"{moment[:8]}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join([ALGORITHM, moment, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _signing_key(secret_key, moment[:8], region)
    signature = hmac.digest(key, to_sign.encode(), "sha256").hex()
    authorization = f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={names}, "
    added = {"X-Amz-Date": moment, **({"X-Amz-Security-Token": token} if token else {})}
    return {**added, "Authorization": authorization + f"Signature={signature}"}


_DATE_MARK = "\x00"  # where X-Amz-Date goes; no header value holds a NUL


@functools.lru_cache(maxsize=16)
def _canonical_request_around(
    method: str, host: str, path: str, headers: tuple[tuple[str, str], ...], token: str
) -> tuple[str, str, str]:
    """The canonical request before and after its X-Amz-Date (it ends with the body's hash,
    appended), and the signed headers' names. All of it but the date and the body is the
    same for every Invoke of one function: worked out once, not per Invoke."""
    added = {"X-Amz-Date": _DATE_MARK, **({"X-Amz-Security-Token": token} if token else {})}
    every = {**dict(headers), **added, "Host": host}
    signed = {k.lower(): " ".join(str(v).split()) for k, v in every.items()}
    names = ";".join(sorted(signed))
    canonical = "\n".join(
        [
            method,
            _canonical_path(path),
            "",  # no query string
            *(f"{name}:{signed[name]}" for name in sorted(signed)),
            "",
            names,
            "",  # the body's hash follows
        ]
    )
    before_date, after_date = canonical.split(_DATE_MARK)
    return before_date, after_date, names


@functools.lru_cache(maxsize=16)
def _canonical_path(path: str) -> str:
    """The path as the canonical request writes it (one function's, every time)."""
    return quote(path, safe="/~")


@functools.lru_cache(maxsize=4)
def _signing_key(secret_key: str, day: str, region: str) -> bytes:
    """SigV4's derived key: the same for a whole UTC day, so a warm instance derives it
    once a day instead of four HMACs per Invoke (as the AWS SDKs cache it)."""
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, SERVICE, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


class _Connections:
    """One kept connection per endpoint: a warm instance's next Invoke skips the TLS handshake."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[tuple[bool, str], KeptConnection] = {}

    def post(self, target: _Target, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        with self._lock:
            for attempt in (1, 2):
                connection = self._connection(target)
                try:
                    return connection.post(target.path, headers, body)
                except (EndedEarly, ConnectionResetError, BrokenPipeError) as exc:
                    # A kept connection the far end closed while the instance was frozen. Sent
                    # twice at worst: the second run finds the event claimed or done.
                    self._drop(target)
                    if attempt == 2:
                        raise InvokeError(f"Lambda Invoke failed: {exc}") from None
                except (OSError, MalformedAnswer) as exc:
                    self._drop(target)
                    raise InvokeError(f"Lambda Invoke failed: {type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")

    def _connection(self, target: _Target) -> KeptConnection:
        key = (target.https, target.host)
        if key not in self._open:
            tls = _tls_context() if target.https else None
            self._open[key] = KeptConnection(target.host, timeout=TIMEOUT_SECONDS, tls=tls)
        return self._open[key]

    def _drop(self, target: _Target) -> None:
        connection = self._open.pop((target.https, target.host), None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        with self._lock:
            for connection in self._open.values():
                connection.close()
            self._open.clear()


def _tls_context() -> ssl.SSLContext:
    """Certificates as requests (and so the SDKs) verify them: certifi's bundle, which the
    package ships; the system store where it is missing."""
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


_CONNECTIONS = _Connections()


def close_connections() -> None:
    """Close kept connections (tests, and a process that is about to exit)."""
    _CONNECTIONS.close()
