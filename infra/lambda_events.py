"""Lambda invocation events as AWS sends them, for the offline handler tests and bench/.

Shapes follow the AWS documentation for API Gateway REST (payload v1) and HTTP API
(payload v2) proxy integrations, EventBridge scheduled events, and zappa's own
asynchronous task message (`zappa.asynchronous.LambdaAsyncResponse._send`).
"""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING, Any

from hub.lambda_invoke import task_message

if TYPE_CHECKING:
    from hub.simulate import SignedRequest

API_HOST = "abc123def4.execute-api.eu-west-1.amazonaws.com"
ACCOUNT = "123456789012"
REGION = "eu-west-1"


# Payload 2.0 carries JSON and text/* bodies as text and everything else base64-encoded
# (form posts from Twilio included); zappa decodes only with `binary_support` on.
V2_TEXT_TYPES = ("application/json", "text/")


def _body(body: bytes, encoded: bool) -> tuple[str, bool]:
    return (base64.b64encode(body).decode(), True) if encoded and body else (body.decode(), False)


def public_url(stage: str, host: str = API_HOST) -> str:
    """The URL API Gateway gives a stage: what HUB_PUBLIC_URL is set to."""
    return f"https://{host}/{stage}"


def rest_v1(
    signed: SignedRequest,
    stage: str,
    *,
    host: str = API_HOST,
    source_ip: str = "203.0.113.7",
    binary: bool = True,
) -> dict:
    """An API Gateway REST API (v1) proxy event; `path` excludes the stage, as AWS sends it.

    `binary`: the API has binary media type `*/*` (what zappa's `binary_support` sets), so
    every body arrives base64-encoded."""
    path, _, query = signed.path.partition("?")
    body, encoded = _body(signed.body, binary)
    headers = {**signed.headers, "Host": host, "X-Forwarded-Proto": "https", "X-Forwarded-For": source_ip}
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p) or None
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": params,
        "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} if params else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "resourcePath": "/{proxy+}",
            "stage": stage,
            "path": f"/{stage}{path}",
            "httpMethod": "POST",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
            "domainName": host,
            "apiId": host.split(".", 1)[0],
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def http_v2(
    signed: SignedRequest, stage: str, *, host: str = API_HOST, source_ip: str = "203.0.113.7"
) -> dict:  # noqa: E501
    """An API Gateway HTTP API (v2) event on a named stage: `rawPath` includes the stage."""
    path, _, query = signed.path.partition("?")
    headers = {k.lower(): v for k, v in signed.headers.items()}
    body, encoded = _body(signed.body, not headers.get("content-type", "").startswith(V2_TEXT_TYPES))
    headers.update({"host": host, "x-forwarded-proto": "https", "x-forwarded-for": source_ip})
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": f"/{stage}{path}",
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": host.split(".", 1)[0],
            "domainName": host,
            "http": {
                "method": "POST",
                "path": f"/{stage}{path}",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": stage,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def scheduled(function: str, lambda_name: str, time: str = "2025-01-31T07:30:00Z") -> dict[str, Any]:
    """An EventBridge Scheduled Event for the rule zappa names `<lambda>-<function>`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time,
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{lambda_name}-{function}"],
        "detail": {},
    }


def async_task(task_path: str, *args: Any) -> dict[str, Any]:
    """The message an asynchronous task invocation carries (zappa's format)."""
    return task_message(task_path, *args)
