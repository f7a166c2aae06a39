"""API errors: each carries its HTTP status and the contract's error code."""

from __future__ import annotations


class ApiError(Exception):
    """A client error answered as `{"error": code, "message": message}` with `status`."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(ApiError):
    """400: the request names a field whose value is not acceptable."""


class NotFound(ApiError):
    """404: no such product, or no such route."""

    status = 404
    code = "not_found"


class MethodNotAllowed(ApiError):
    """405: the route exists but not for this method (`Allow` lists the methods)."""

    status = 405
    code = "method_not_allowed"

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(
            f"method {method} is not allowed here; allowed: {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )


class Conflict(ApiError):
    """409: POST of a product id that already exists."""

    status = 409
    code = "conflict"


class PreconditionFailed(ApiError):
    """412: If-Match / If-None-Match / body `version` does not match the current item."""

    status = 412
    code = "precondition_failed"


class PayloadTooLarge(ApiError):
    """413: the body exceeds the size limit."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    """415: the body is not declared as JSON."""

    status = 415
    code = "unsupported_media_type"
