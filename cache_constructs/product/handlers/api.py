"""What every API handler shares: the resolver with the contract's errors, and the entry.

Each function builds its `APIGatewayRestResolver` with `create_app`, registers its routes,
and exposes `api_entry(app)` as `handler`: Logger (correlation id from the REST request),
Metrics (EMF on stdout, published in batches), Tracer only when tracing is on, and a last
catch that turns anything unexpected into a JSON 500 without a stack trace in the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from cache_constructs.product.domain.errors import ApiError, MethodNotAllowed, NotFound
from cache_constructs.product.domain.responses import (
    INTERNAL_ERROR,
    NO_STORE,
    error_response,
    internal_error_response,
)
from cache_constructs.product.handlers.observability import (
    LambdaHandler,
    instrument,
    rest_request_id,
)
from cache_constructs.product.handlers.service_runtime import get_runtime
from cache_constructs.runtime.telemetry import logger

ITEM_PATH = "/products/<product_id>"
COLLECTION_PATH = "/products"
# What the whole API serves per path (docs/architecture.md); other methods get a 405.
API_METHODS: dict[str, tuple[str, ...]] = {
    COLLECTION_PATH: ("GET", "POST"),
    ITEM_PATH: ("GET", "PUT", "DELETE"),
}
# The paths above as the resolver matches them (a `<param>` is one non-empty path segment).
_PATH_PATTERNS = {
    COLLECTION_PATH: re.compile(r"/products"),
    ITEM_PATH: re.compile(r"/products/[^/]+"),
}


def create_app(served: Mapping[str, tuple[str, ...]]) -> APIGatewayRestResolver:
    """A resolver answering errors in the contract's JSON shape.

    `served` maps each path this function serves to its methods. Every other method on a
    product path is a 405 listing the allowed ones; any other path is a 404. The 405s are
    decided where no route matched, so the resolver holds only the routes served: it tries
    routes in order, and a request to a served route should not walk past catch-alls first.
    """
    app = APIGatewayRestResolver()
    allowed_on = [
        (_PATH_PATTERNS[path], list(served.get(path, api_methods)))
        for path, api_methods in API_METHODS.items()
    ]

    @app.exception_handler(ApiError)
    def _client_error(error: ApiError) -> Response:
        return error_response(error)

    @app.not_found
    def _no_route(_: NotFoundError) -> Response:
        event = app.current_event
        for pattern, allowed in allowed_on:
            if pattern.fullmatch(event.path) and event.http_method not in allowed:
                return error_response(MethodNotAllowed(event.http_method, allowed))
        path = event.path if len(event.path) <= 200 else event.path[:200] + "..."
        return error_response(NotFound(f"no route {event.http_method} {path}"))

    @app.exception_handler(Exception)
    def _unexpected(_: Exception) -> Response:
        logger.exception("unhandled error")
        return internal_error_response()

    return app


class HeaderNames:
    """Request header names a route reads, prepared once for `request_headers`."""

    def __init__(self, *names: str) -> None:
        self.names = frozenset(name.lower() for name in names)
        # Comparing lengths first spares lower-casing almost every header of a request (API
        # Gateway passes ~15), a cost paid on every cache hit.
        self.lengths = frozenset(len(name) for name in self.names)


def request_header(app: APIGatewayRestResolver, name: str) -> str | None:
    """A request header, case-insensitive, repeated lines joined as one HTTP list."""
    return request_headers(app, HeaderNames(name)).get(name.lower())


def request_headers(app: APIGatewayRestResolver, wanted: HeaderNames) -> dict[str, str]:
    """The request's headers named in `wanted` (keys lower-case; absent ones left out),
    repeated lines joined as one HTTP list, in one pass over the event's header map.

    Read from the raw event: Powertools' `event.headers` builds a new case-insensitive copy
    of every header on each access, a cost on every cache hit. REST events carry both maps;
    `multiValueHeaders` has every line, `headers` only the last of each.
    """
    event = app.current_event.raw_event
    source = event.get("multiValueHeaders") or event.get("headers")
    if not isinstance(source, dict):
        return {}
    names, lengths = wanted.names, wanted.lengths
    found: dict[str, str] = {}
    for key, value in source.items():
        if not isinstance(key, str) or len(key) not in lengths or value is None:
            continue
        lowered = key.lower()
        if lowered in names:
            line = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            if line:
                found[lowered] = f"{found[lowered]}, {line}" if lowered in found else line
    return found


def skips_l1(cache_control: str | None) -> bool:
    """Whether a request's `Cache-Control` asks for an answer fresher than process memory
    may give: `no-cache` or `max-age=0` (RFC 9111 request directives). Such a request is
    answered from a layer that write-through keeps current (L2, or the origin), never L1."""
    if not cache_control:
        return False
    for directive in cache_control.split(","):
        name, _, argument = directive.strip().partition("=")
        name, argument = name.strip().lower(), argument.strip().strip('"')
        if name == "no-cache" or (name == "max-age" and argument.isdigit() and int(argument) == 0):
            return True
    return False


def query_params(app: APIGatewayRestResolver) -> dict[str, list[str]]:
    """Every query parameter with all its values (REST events carry both maps)."""
    event = app.current_event
    multi = event.multi_value_query_string_parameters
    if multi:
        return {name: list(values) for name, values in multi.items()}
    return {name: [value] for name, value in event.query_string_parameters.items()}


def _raw_internal_error() -> dict[str, Any]:
    return {
        "statusCode": 500,
        "headers": {"Content-Type": "application/json", "Cache-Control": NO_STORE},
        "body": json.dumps(INTERNAL_ERROR),
        "isBase64Encoded": False,
    }


def api_entry(
    app: APIGatewayRestResolver, *, trace_handler: bool = True, batch_metrics: bool = False
) -> LambdaHandler:
    """The Lambda entry point of an API function, with Powertools observability.

    `trace_handler=False` keeps the Tracer (aws_xray_sdk) out of the cold start and
    `batch_metrics=True` publishes metrics once a second, not per invocation (the read
    functions' hit path); see `handlers.observability.instrument`.
    """

    def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            # Configuration is validated on the first invocation of every environment, whatever
            # the route: a misconfigured function answers 500 and logs the variable's name.
            get_runtime()
            return app.resolve(event, context)
        except Exception:
            # Only a bad configuration or a broken event (not an HTTP request) gets here:
            # route errors are handled by the resolver's exception handlers above.
            logger.exception("unhandled error outside the routes")
            return _raw_internal_error()

    return instrument(
        resolve,
        correlation_id=rest_request_id,
        trace_handler=trace_handler,
        batch_metrics=batch_metrics,
    )
