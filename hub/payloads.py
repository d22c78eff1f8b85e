"""Reading request bodies for verifiers: strict types, clear 4xx errors, never a 500."""

from __future__ import annotations

import json
from typing import Any

from flask import Request

from hub.errors import BadRequestError, UnsupportedMediaTypeError


def require_content_type(request: Request, *allowed: str) -> None:
    if request.mimetype not in allowed:
        raise UnsupportedMediaTypeError(
            f"expected a body of type {' or '.join(allowed)}, got {request.mimetype or 'none'}"
        )


def body_text(request: Request) -> str:
    try:
        return request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("the body is not valid UTF-8", code="bad_payload") from None


def json_object(text: str) -> dict[str, Any]:
    """Parse a JSON object (not a list, string or number)."""
    try:
        data = json.loads(text)
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
