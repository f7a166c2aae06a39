"""GET /products?category=C&limit=N&cursor=X: a cached page of one category.

A request with `Cache-Control: no-cache` or `max-age=0` skips L1 (L2's pages follow the
category's generation, which every write bumps). Whether such a header also refreshes the
API Gateway stage cache is the stage's rule (authorised callers only), unchanged here.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from cache_constructs.product.domain.errors import BadRequest
from cache_constructs.product.domain.preconditions import parse_entity_tags
from cache_constructs.product.domain.representation import etag_of
from cache_constructs.product.domain.responses import not_modified_response, representation_response
from cache_constructs.product.domain.validation import parse_list_query
from cache_constructs.product.handlers.api import (
    COLLECTION_PATH,
    HeaderNames,
    api_entry,
    create_app,
    query_params,
    request_headers,
    skips_l1,
)
from cache_constructs.product.handlers.service_runtime import get_runtime
from cache_constructs.runtime.errors import InvalidCursor
from cache_constructs.runtime.l1_cache import skipping_l1

app = create_app({COLLECTION_PATH: ("GET",)})
_LIST_HEADERS = HeaderNames("If-None-Match", "Cache-Control")


@app.get(COLLECTION_PATH)
def list_products() -> Response:
    """`{"items": [...], "nextCursor": str|null}`, or 304 when `If-None-Match` matches."""
    query = parse_list_query(query_params(app))
    headers = request_headers(app, _LIST_HEADERS)
    if_none_match = parse_entity_tags(headers.get("if-none-match"), "If-None-Match")
    runtime = get_runtime()
    try:
        if skips_l1(headers.get("cache-control")):
            with skipping_l1():
                page = runtime.lists.read(query.category, query.limit, query.cursor)
        else:
            page = runtime.lists.read(query.category, query.limit, query.cursor)
    except InvalidCursor:
        raise BadRequest("cursor is not a valid cursor for this category and limit") from None
    if page.body is None:
        raise RuntimeError("the list read returned no page")  # a runtime bug: a 500
    cache_control = runtime.config.list_cache_control
    etag = page.etag or etag_of(page.body)
    if if_none_match is not None and if_none_match.weak_match(etag):
        return not_modified_response(etag=etag, cache_control=cache_control, x_cache=page.x_cache)
    return representation_response(
        200, page.body, etag=etag, cache_control=cache_control, x_cache=page.x_cache
    )


# Traced on the origin path only: an L1/L2 hit must not load aws_xray_sdk. Metrics are
# published once a second: a hit pays no EMF serialisation.
handler = api_entry(app, trace_handler=False, batch_metrics=True)
