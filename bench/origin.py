"""Handle on the origin process (bench/origin_server.py): start, control, table, seed data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from bench import paths
from bench.items import to_item
from bench.origin_client import FAKE_CREDENTIALS, TABLE_NAME, Origin
from cache_constructs.product import table_schema as product_table_schema


@contextmanager
def running_origin() -> Iterator[Origin]:
    """Start bench/origin_server.py in its own process, create the table, stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.origin_server"],
        cwd=paths.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **FAKE_CREDENTIALS},
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"origin server did not start: {line!r}")
        origin = Origin(endpoint=f"http://127.0.0.1:{int(line.split()[1])}")
        create_table(origin.client())
        yield origin
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def create_table(client: Any) -> None:
    """The product table, from the same schema module the construct and local stack use."""
    client.create_table(**product_table_schema.create_table_kwargs(TABLE_NAME))


def seed(client: Any, products: Iterable[dict[str, Any]]) -> None:
    """Write products in batches of 25 (BatchWriteItem's limit)."""
    batch: list[dict[str, Any]] = []
    for values in products:
        batch.append({"PutRequest": {"Item": to_item(values)}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={TABLE_NAME: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={TABLE_NAME: batch})
