"""Generic Lambda handlers that the library's own constructs deploy (no product in them).

`PUSH_PUBLISHER_HANDLER`: the push publisher function of `InvalidationChannel`. The handler
strings are relative to the asset root, like the product's (`cache_constructs.product.handlers`).
"""

PUSH_PUBLISHER_HANDLER = "cache_constructs.handlers.push_publisher_handler.handler"
