"""Client side of the bench origin: its control calls and a boto3 DynamoDB client.

Light on imports, so worker processes can use it.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3

from bench.items import product_pk

REGION = "us-east-1"
TABLE_NAME = "bench-products"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def dynamodb_client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


@dataclass
class Origin:
    """The running origin: its endpoint and the control calls of bench/origin_server.py."""

    endpoint: str

    def _call(self, action: str, **args: Any) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.endpoint}/__bench/{action}", data=json.dumps(args).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=90) as response:
            return dict(json.loads(response.read()))

    def reset(self, latency_ms: float = 0.0) -> None:
        """Zero the counters, drop holds, set the added latency of every call."""
        self._call("reset", latency_ms=latency_ms)

    def counts(self) -> dict[str, Any]:
        return self._call("counts")

    def reads_of(self, product_id: str) -> int:
        return int(self.counts()["reads_by_pk"].get(product_pk(product_id), 0))

    def total_reads(self) -> int:
        return sum(int(n) for n in self.counts()["reads_by_pk"].values())

    def consistent_reads(self) -> int:
        """Strongly consistent GetItems so far (1 read unit each; others cost 0.5)."""
        return int(self.counts()["consistent_reads"])

    def hold(self, product_id: str) -> None:
        self._call("hold", pk=product_pk(product_id))

    def await_arrival(self, product_id: str, phase: str, timeout: float = 5.0) -> bool:
        return bool(
            self._call("await", pk=product_pk(product_id), phase=phase, timeout=timeout)["arrived"]
        )

    def release(self, product_id: str, phase: str) -> None:
        self._call("release", pk=product_pk(product_id), phase=phase)

    def drop_hold(self, product_id: str) -> None:
        self._call("drop", pk=product_pk(product_id))

    def client(self) -> Any:
        return dynamodb_client(self.endpoint)

    def environment(self) -> dict[str, str]:
        """Variables that point boto3 (ours, in any process) at this origin."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint}
