"""The multi-layer cache runtime: L1 (process memory), L2 (Valkey/Redis), DAX and DynamoDB.

No handler code and no HTTP here, and nothing of one table's data shape: the table's owner
supplies a `codec.TableCodec`. Importing this package (and the L2-hit read path) does not
import boto3, botocore's client machinery, amazondax, aws_xray_sdk or aws_cdk: those load on
the miss/origin path only (or never). Entry point: `runtime.build_runtime(config, codec=...)`.
"""
