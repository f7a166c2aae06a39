"""The product API domain: input validation, conditional writes, HTTP shapes, stream parsing.

Handlers translate events into calls of these plain functions; the cache runtime
(`product_cache`) decides what is cached. Nothing here imports boto3 at module level, so the
read path stays lean.
"""
