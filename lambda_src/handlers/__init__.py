"""Thin Lambda handlers: translate events, call `product_service` and `product_cache`."""
