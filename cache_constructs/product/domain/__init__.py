"""The product API domain: input validation, conditional writes, HTTP shapes, stream parsing,
and the product's data shape (representation, the cache codec).

Handlers translate events into calls of these plain functions; the cache runtime
(`cache_constructs.runtime`) decides what is cached. Nothing here imports boto3 at module
level, so the read path stays lean.
"""
