"""GET /products?category=C&limit=N&cursor=X: a cached page of one category."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from cache_constructs.product.domain.errors import BadRequest
from cache_constructs.product.domain.preconditions import parse_entity_tags
from cache_constructs.product.domain.representation import etag_of
from cache_constructs.product.domain.responses import not_modified_response, representation_response
from cache_constructs.product.domain.validation import parse_list_query
from cache_constructs.product.handlers.api import (
    COLLECTION_PATH,
    api_entry,
    create_app,
    query_params,
    request_header,
)
from cache_constructs.product.handlers.service_runtime import get_runtime
from cache_constructs.runtime.errors import InvalidCursor

app = create_app({COLLECTION_PATH: ("GET",)})


@app.get(COLLECTION_PATH)
def list_products() -> Response:
    """`{"items": [...], "nextCursor": str|null}`, or 304 when `If-None-Match` matches."""
    query = parse_list_query(query_params(app))
    if_none_match = parse_entity_tags(request_header(app, "If-None-Match"), "If-None-Match")
    runtime = get_runtime()
    try:
        page = runtime.lists.read(query.category, query.limit, query.cursor)
    except InvalidCursor:
        raise BadRequest("cursor is not a valid cursor for this category and limit") from None
    if page.body is None:
        raise RuntimeError("the list read returned no page")  # a runtime bug: a 500
    cache_control = runtime.config.list_policy.cache_control
    etag = page.etag or etag_of(page.body)
    if if_none_match is not None and if_none_match.weak_match(etag):
        return not_modified_response(etag=etag, cache_control=cache_control, x_cache=page.x_cache)
    return representation_response(
        200, page.body, etag=etag, cache_control=cache_control, x_cache=page.x_cache
    )


# Traced on the origin path only: an L1/L2 hit must not load aws_xray_sdk.
handler = api_entry(app, trace_handler=False)
