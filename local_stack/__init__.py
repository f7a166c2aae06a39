"""`make local`: the product API on localhost, served by the very handlers the stack deploys.

Parts (one file each): a real redis-server (`redis_process`), moto's server as the DynamoDB and
DynamoDB Streams emulator (`dynamodb_emulator`), one worker process per Lambda function
(`lambda_worker`), an HTTP front that turns requests into API Gateway REST proxy events
(`apigw_events`, `http_front`), a stream poller that behaves like a Lambda event source mapping
(`stream_poller`, `dead_letter`), and the supervisor that starts and stops them (`stack`).
Run it with `python -m local_stack` (see docs/local.md).
"""
