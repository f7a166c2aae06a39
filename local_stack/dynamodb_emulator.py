"""moto's server as the DynamoDB + DynamoDB Streams emulator, and the product table in it.

The table, its GSI, its stream and its TTL attribute come from
`cache_constructs.product.table_schema`, the module the construct builds the real table from,
so the local table cannot drift from the deployed one.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from cache_constructs.product.table_schema import create_table_kwargs, ttl_specification
from local_stack.processes import stop_process, supervised_child, wait_until

# moto accepts any credentials; these keep boto3 from looking for real ones.
DUMMY_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


class DynamoDBEmulator:
    """`python -m moto.server` on loopback; its log goes to `<state_dir>/moto.log`."""

    def __init__(self, *, port: int, region: str, state_dir: Path) -> None:
        self.port = port
        self.region = region
        self.state_dir = state_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30.0) -> None:
        """Start the server and wait until it answers HTTP."""
        with open(self.state_dir / "moto.log", "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=supervised_child,
            )
        wait_until(self._answers, what="moto server", timeout=timeout, proc=self.proc)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=0.5):  # noqa: S310
                return True
        except (urllib.error.URLError, OSError):
            return False

    def client(self, service: str = "dynamodb") -> Any:
        """A boto3 client for `service` bound to the emulator (never to a real account)."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
            **DUMMY_CREDENTIALS,
        )

    def create_product_table(self, table_name: str) -> str:
        """Create the product table from the construct's own definitions; return its stream ARN."""
        dynamodb = self.client()
        dynamodb.create_table(**create_table_kwargs(table_name))
        dynamodb.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        dynamodb.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification=ttl_specification()
        )
        table = dynamodb.describe_table(TableName=table_name)["Table"]
        stream_arn = table.get("LatestStreamArn")
        if not stream_arn:
            raise RuntimeError(f"table {table_name} has no stream: check product_table_schema")
        return str(stream_arn)

    def stop(self, *, grace: float = 2.0) -> None:
        stop_process(self.proc, grace=grace)
        self.proc = None
