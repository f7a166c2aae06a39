"""Thin Lambda handlers: translate events, call the product domain and the cache runtime.

The handler strings below are relative to the asset root (the folder that holds the
`cache_constructs` package), the same in the bundle, the local stack and the tests.
"""

_HANDLERS = "cache_constructs.product.handlers"
READ_HANDLER = f"{_HANDLERS}.read_handler.handler"
LIST_HANDLER = f"{_HANDLERS}.list_handler.handler"
WRITE_HANDLER = f"{_HANDLERS}.write_handler.handler"
STREAM_HANDLER = f"{_HANDLERS}.stream_handler.handler"
