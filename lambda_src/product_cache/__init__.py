"""The multi-layer cache runtime: L1 (process memory), L2 (Valkey/Redis), DAX and DynamoDB.

No handler code and no HTTP here. Importing this package (and the L2-hit read path) does not
import boto3, botocore's client machinery, amazondax or aws_xray_sdk: those load on the
miss/origin path only. Entry points: `product_cache.runtime.get_runtime()`.
"""
