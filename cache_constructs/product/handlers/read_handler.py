"""GET /products/{id}: the cached item read (L1 -> L2 -> DAX/DynamoDB), with 304s.

Lean by design: importing this module and serving an L2 hit loads neither boto3 nor the
DAX client nor the X-Ray SDK (the runtime imports its origin clients lazily on a miss).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from cache_constructs.product.domain.errors import NotFound
from cache_constructs.product.domain.preconditions import parse_entity_tags
from cache_constructs.product.domain.representation import etag_of
from cache_constructs.product.domain.responses import (
    error_response,
    not_modified_response,
    representation_response,
)
from cache_constructs.product.domain.validation import validate_product_id
from cache_constructs.product.handlers.api import ITEM_PATH, api_entry, create_app, request_header
from cache_constructs.product.handlers.service_runtime import get_runtime

app = create_app({ITEM_PATH: ("GET",)})


@app.get(ITEM_PATH)
def get_product(product_id: str) -> Response:
    """The product, or 304 when `If-None-Match` matches, or a 404 JSON error."""
    validate_product_id(product_id)
    if_none_match = parse_entity_tags(request_header(app, "If-None-Match"), "If-None-Match")
    runtime = get_runtime()
    read = runtime.items.read(product_id)
    if read.body is None:
        response = error_response(NotFound(f"product {product_id} does not exist"))
        response.headers["X-Cache"] = read.x_cache
        return response
    cache_control = runtime.config.item_policy.cache_control
    etag = read.etag or etag_of(read.body)
    if if_none_match is not None and if_none_match.weak_match(etag):
        return not_modified_response(etag=etag, cache_control=cache_control, x_cache=read.x_cache)
    return representation_response(
        200, read.body, etag=etag, cache_control=cache_control, x_cache=read.x_cache
    )


# Traced on the origin path only: an L1/L2 hit must not load aws_xray_sdk.
handler = api_entry(app, trace_handler=False)
