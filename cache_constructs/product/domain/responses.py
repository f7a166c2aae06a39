"""The HTTP responses of the product API: JSON bodies, errors, validators, cache headers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response

from cache_constructs.product.domain.errors import ApiError

JSON = "application/json"
# Errors and write results are about one request: no shared cache may keep them.
NO_STORE = "no-store"
INTERNAL_ERROR = {"error": "internal_error", "message": "internal error"}
"""The whole body of every 500: the details go to the log only."""


def json_response(
    status: int, payload: Any, *, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response with compact separators."""
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(payload, separators=(",", ":")),
        headers=dict(headers or {}),
    )


def error_response(error: ApiError) -> Response:
    """The contract's error body: `{"error": code, "message": text naming the field}`."""
    return json_response(
        error.status,
        {"error": error.code, "message": error.message},
        headers={"Cache-Control": NO_STORE, **error.headers},
    )


def internal_error_response() -> Response:
    """A 500 that reveals nothing: the stack trace goes to the log only."""
    return json_response(500, INTERNAL_ERROR, headers={"Cache-Control": NO_STORE})


def representation_response(
    status: int,
    body: bytes,
    *,
    etag: str,
    cache_control: str,
    x_cache: str,
    extra_headers: Mapping[str, str] | None = None,
) -> Response:
    """A rendered product or list page with its validators and cache headers."""
    return Response(
        status_code=status,
        content_type=JSON,
        body=body.decode("utf-8"),
        headers={
            "ETag": etag,
            "Cache-Control": cache_control,
            "X-Cache": x_cache,
            **(extra_headers or {}),
        },
    )


def not_modified_response(*, etag: str, cache_control: str, x_cache: str) -> Response:
    """304: the validators and cache headers, no body."""
    return Response(
        status_code=304,
        body=None,
        headers={"ETag": etag, "Cache-Control": cache_control, "X-Cache": x_cache},
    )
