"""The product reference: a product catalog service built from the generic constructs.

`service.CachedProductService` composes the table, the functions, the caches, the API and
the stream invalidation; `routes` and `table_schema` are its pure-Python contract; `domain`
and `handlers` are the code its functions run. Importing this package starts no jsii.
"""
