"""POST /products, PUT /products/{id}, DELETE /products/{id}: conditional writes.

Responses carry the new representation, its strong `ETag`, `Cache-Control: no-store` (a
write result is about this request only) and `X-Cache: BYPASS` (no cache served it).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from cache_constructs.product.domain.preconditions import parse_entity_tags
from cache_constructs.product.domain.responses import NO_STORE, representation_response
from cache_constructs.product.domain.validation import (
    ProductInput,
    check_json_content_type,
    decode_body,
    parse_json_object,
    validate_product_body,
    validate_product_id,
)
from cache_constructs.product.domain.writes import ProductWrites, WriteOutcome
from cache_constructs.product.handlers.api import (
    COLLECTION_PATH,
    ITEM_PATH,
    api_entry,
    create_app,
    request_header,
)
from cache_constructs.product.handlers.service_runtime import get_runtime
from cache_constructs.runtime.results import BYPASS

app = create_app({COLLECTION_PATH: ("POST",), ITEM_PATH: ("PUT", "DELETE")})


def _product_input(resolver: APIGatewayRestResolver, path_id: str | None) -> ProductInput:
    """415, 413, then 400: the checks run cheapest-first and name what is wrong."""
    event = resolver.current_event
    check_json_content_type(request_header(resolver, "Content-Type"))
    text = decode_body(event.body, bool(event.is_base64_encoded))
    return validate_product_body(parse_json_object(text), path_id=path_id)


def _location(resolver: APIGatewayRestResolver, product_id: str, *, append_id: bool) -> str:
    # requestContext.path keeps the stage (or custom-domain base path) the client called.
    path = resolver.current_event.request_context.path or resolver.current_event.path
    return f"{path.rstrip('/')}/{product_id}" if append_id else path


def _written(outcome: WriteOutcome, headers: dict[str, str] | None = None) -> Response:
    return representation_response(
        201 if outcome.created else 200,
        outcome.body,
        etag=outcome.etag,
        cache_control=NO_STORE,
        x_cache=BYPASS,
        extra_headers=headers,
    )


@app.post(COLLECTION_PATH)
def create_product() -> Response:
    """201 with the new product (server-assigned `productId` when absent); 409 if it exists."""
    data = _product_input(app, None)
    outcome = ProductWrites(get_runtime()).create(data)
    return _written(outcome, {"Location": _location(app, outcome.product_id, append_id=True)})


@app.put(ITEM_PATH)
def replace_product(product_id: str) -> Response:
    """201 when created, 200 when replaced; 412 on a stale If-Match or body `version`."""
    validate_product_id(product_id)
    if_match = parse_entity_tags(request_header(app, "If-Match"), "If-Match")
    if_none_match = parse_entity_tags(request_header(app, "If-None-Match"), "If-None-Match")
    data = _product_input(app, product_id)
    outcome = ProductWrites(get_runtime()).replace(
        product_id, data, if_match=if_match, if_none_match=if_none_match
    )
    headers = {"Location": _location(app, product_id, append_id=False)} if outcome.created else {}
    return _written(outcome, headers)


@app.delete(ITEM_PATH)
def delete_product(product_id: str) -> Response:
    """204; 404 when absent; 412 when If-Match does not match."""
    validate_product_id(product_id)
    if_match = parse_entity_tags(request_header(app, "If-Match"), "If-Match")
    ProductWrites(get_runtime()).delete(product_id, if_match=if_match)
    return Response(
        status_code=204, body=None, headers={"Cache-Control": NO_STORE, "X-Cache": BYPASS}
    )


handler = api_entry(app)
