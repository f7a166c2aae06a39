"""GET /products/{id}: the cached item read (L1 -> L2 -> DAX/DynamoDB), with 304s.

Lean by design: importing this module and serving an L2 hit loads neither boto3 nor the
DAX client nor the X-Ray SDK (the runtime imports its origin clients lazily on a miss).
A request with `Cache-Control: no-cache` or `max-age=0` skips L1 (L2 and the origin are
kept current by write-through and stream invalidation).
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
from cache_constructs.product.handlers.api import (
    ITEM_PATH,
    HeaderNames,
    api_entry,
    create_app,
    request_headers,
    skips_l1,
)
from cache_constructs.product.handlers.service_runtime import get_runtime
from cache_constructs.runtime.l1_cache import skipping_l1

app = create_app({ITEM_PATH: ("GET",)})
_READ_HEADERS = HeaderNames("If-None-Match", "Cache-Control")


@app.get(ITEM_PATH)
def get_product(product_id: str) -> Response:
    """The product, or 304 when `If-None-Match` matches, or a 404 JSON error."""
    validate_product_id(product_id)
    headers = request_headers(app, _READ_HEADERS)
    if_none_match = parse_entity_tags(headers.get("if-none-match"), "If-None-Match")
    runtime = get_runtime()
    if skips_l1(headers.get("cache-control")):
        with skipping_l1():
            read = runtime.items.read(product_id)
    else:
        read = runtime.items.read(product_id)
    if read.body is None:
        response = error_response(NotFound(f"product {product_id} does not exist"))
        response.headers["X-Cache"] = read.x_cache
        return response
    cache_control = runtime.config.item_cache_control
    etag = read.etag or etag_of(read.body)
    if if_none_match is not None and if_none_match.weak_match(etag):
        return not_modified_response(etag=etag, cache_control=cache_control, x_cache=read.x_cache)
    return representation_response(
        200, read.body, etag=etag, cache_control=cache_control, x_cache=read.x_cache
    )


# Traced on the origin path only: an L1/L2 hit must not load aws_xray_sdk. Metrics are
# published once a second: a hit pays no EMF serialisation.
handler = api_entry(app, trace_handler=False, batch_metrics=True)
