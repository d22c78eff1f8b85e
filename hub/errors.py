"""Typed errors that carry their HTTP status; one handler in the app renders them as JSON."""

from __future__ import annotations


class HubError(Exception):
    """Base for every error hub answers to a client. Subclasses name status and code."""

    STATUS_CODE = 500
    CODE = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.CODE

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}

    def headers(self) -> dict[str, str]:
        """Headers the answer must carry besides the JSON body."""
        return {}


class BadRequestError(HubError):
    STATUS_CODE = 400
    CODE = "bad_request"


class UnauthorizedError(HubError):
    STATUS_CODE = 401
    CODE = "unauthorized"


class ForbiddenError(HubError):
    STATUS_CODE = 403
    CODE = "forbidden"


class NotFoundError(HubError):
    STATUS_CODE = 404
    CODE = "not_found"


class ConflictError(HubError):
    STATUS_CODE = 409
    CODE = "conflict"


class UnsupportedMediaTypeError(HubError):
    STATUS_CODE = 415
    CODE = "unsupported_media_type"


class PayloadTooLargeError(HubError):
    STATUS_CODE = 413
    CODE = "payload_too_large"


class RequestTimeoutError(HubError):
    STATUS_CODE = 408
    CODE = "request_timeout"


class TooManyRequestsError(HubError):
    """Throttled: the client may try again after `retry_after` seconds (the Retry-After header)."""

    STATUS_CODE = 429
    CODE = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailableError(HubError):
    STATUS_CODE = 503
    CODE = "unavailable"


class ConfigError(Exception):
    """A configuration value is malformed; the message names the variable and what to write."""


class StoreUnavailableError(ServiceUnavailableError):
    """The event store cannot be reached; providers get 503 and deliver again later."""

    CODE = "store_unavailable"
