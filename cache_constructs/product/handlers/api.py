"""What every API handler shares: the resolver with the contract's errors, and the entry.

Each function builds its `APIGatewayRestResolver` with `create_app`, registers its routes,
and exposes `api_entry(app)` as `handler`: Logger (correlation id from the REST request),
Metrics (EMF on stdout, flushed per invocation), Tracer only when tracing is on, and a last
catch that turns anything unexpected into a JSON 500 without a stack trace in the body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths

from cache_constructs.product.domain.errors import ApiError, MethodNotAllowed, NotFound
from cache_constructs.product.domain.preconditions import header
from cache_constructs.product.domain.responses import (
    INTERNAL_ERROR,
    NO_STORE,
    error_response,
    internal_error_response,
)
from cache_constructs.product.handlers.observability import LambdaHandler, instrument
from cache_constructs.product.handlers.service_runtime import get_runtime
from cache_constructs.runtime.telemetry import logger

ITEM_PATH = "/products/<product_id>"
COLLECTION_PATH = "/products"
# What the whole API serves per path (docs/architecture.md); other methods get a 405.
API_METHODS: dict[str, tuple[str, ...]] = {
    COLLECTION_PATH: ("GET", "POST"),
    ITEM_PATH: ("GET", "PUT", "DELETE"),
}
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def create_app(served: Mapping[str, tuple[str, ...]]) -> APIGatewayRestResolver:
    """A resolver answering errors in the contract's JSON shape.

    `served` maps each path this function serves to its methods. Every other method on a
    product path is a 405 listing the allowed ones; any other path is a 404.
    """
    app = APIGatewayRestResolver()

    @app.exception_handler(ApiError)
    def _client_error(error: ApiError) -> Response:
        return error_response(error)

    @app.not_found
    def _no_route(_: NotFoundError) -> Response:
        event = app.current_event
        path = event.path if len(event.path) <= 200 else event.path[:200] + "..."
        return error_response(NotFound(f"no route {event.http_method} {path}"))

    @app.exception_handler(Exception)
    def _unexpected(_: Exception) -> Response:
        logger.exception("unhandled error")
        return internal_error_response()

    for path, api_methods in API_METHODS.items():
        allowed = list(served.get(path, api_methods))
        refused = [method for method in HTTP_METHODS if method not in allowed]

        def _not_allowed(allowed: list[str] = allowed, **_: str) -> Response:
            raise MethodNotAllowed(app.current_event.http_method, allowed)

        app.route(path, method=refused)(_not_allowed)
    return app


def request_header(app: APIGatewayRestResolver, name: str) -> str | None:
    """A request header, case-insensitive, repeated lines joined as one HTTP list."""
    event = app.current_event
    return header(event.headers, event.multi_value_headers, name)


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


def api_entry(app: APIGatewayRestResolver, *, trace_handler: bool = True) -> LambdaHandler:
    """The Lambda entry point of an API function, with Powertools observability.

    `trace_handler=False` keeps the Tracer (aws_xray_sdk) out of the cold start; see
    `handlers.observability.instrument`.
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
        correlation_id_path=correlation_paths.API_GATEWAY_REST,
        trace_handler=trace_handler,
    )
