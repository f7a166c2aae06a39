"""Conditional writes: failures recognised from DynamoDB and from the DAX client alike; the
deletion marker written with a delete, checked by a create, raised by a TTL expiry."""

from __future__ import annotations

from typing import Any

import pytest
from amazondax.DaxError import DaxClientError, DaxErrorCode, DaxServiceError
from handler_env import TABLE, item_of

from cache_constructs.product.domain.repository import (
    ConditionFailed,
    ProductRepository,
    marker_version,
    written_by,
)
from cache_constructs.product.domain.representation import marker_key, product_key

# What the DAX client raises for a cancelled transaction: codes [4, 37, 38, 39, 58], and no
# cancellation reasons (amazondax never fills them in).
DAX_TRANSACTION_CANCELED = DaxServiceError(
    "TransactWriteItems", "Transaction cancelled", [4, 37, 38, 39, 58], None, None, 400
)


class DaxLikeWriter:
    """DAX cannot run here: this writer raises what amazondax raises."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def put_item(self, **_: Any) -> None:
        raise self.error

    def transact_write_items(self, **_: Any) -> None:
        raise self.error


def repository(error: Exception) -> ProductRepository:
    return ProductRepository(writer=DaxLikeWriter(error), reader=None, table_name=TABLE)


def item(product_id: str, version: int, **extra: Any) -> dict[str, Any]:
    return {**product_key(product_id), "version": {"N": str(version)}, **extra}


def marker_of(client: Any, product_id: str) -> dict[str, Any] | None:
    return client.get_item(TableName=TABLE, Key=marker_key(product_id), ConsistentRead=True).get(
        "Item"
    )


def test_dax_condition_failures_become_condition_failed() -> None:
    condition = DaxClientError(
        "The conditional request failed", DaxErrorCode.ConditionalCheckFailed
    )
    assert DAX_TRANSACTION_CANCELED.response["Error"]["Code"] == "TransactionCanceledException"
    with pytest.raises(ConditionFailed):
        repository(condition).replace(item("p1", 4), 3)
    with pytest.raises(ConditionFailed):
        repository(DAX_TRANSACTION_CANCELED).create("p1", item("p1", 1), marker_version=0)
    with pytest.raises(ConditionFailed):
        repository(DAX_TRANSACTION_CANCELED).delete("p1", 3, write_token="t")


def test_other_dax_errors_propagate() -> None:
    error = DaxClientError("throttled", DaxErrorCode.Throttling)
    with pytest.raises(DaxClientError):
        repository(error).create("p1", item("p1", 1), marker_version=0)
    with pytest.raises(DaxClientError):
        repository(error).replace(item("p1", 2), 1)


def test_moto_condition_failures_become_condition_failed(aws: Any) -> None:
    real = ProductRepository(writer=aws, reader=aws, table_name=TABLE)
    real.create("p1", item("p1", 1), marker_version=0)
    with pytest.raises(ConditionFailed):
        real.create("p1", item("p1", 1), marker_version=0)
    with pytest.raises(ConditionFailed):
        real.replace(item("p1", 2), 5)
    real.replace(item("p1", 2), 1)
    assert real.item("p1")["version"] == {"N": "2"}
    with pytest.raises(ConditionFailed):
        real.delete("p1", 1, write_token="t")
    real.delete("p1", 2, write_token="t")
    assert real.item("p1") is None


def test_a_delete_leaves_the_marker_in_the_same_transaction(aws: Any) -> None:
    real = ProductRepository(writer=aws, reader=aws, table_name=TABLE)
    real.create("p1", item("p1", 1, category={"S": "home"}), marker_version=0)
    real.replace(item("p1", 2, category={"S": "home"}), 1)
    with pytest.raises(ConditionFailed):
        real.delete("p1", 1, write_token="stale")
    assert marker_of(aws, "p1") is None  # the failed delete wrote no marker either
    real.delete("p1", 2, write_token="mine")
    marker = marker_of(aws, "p1")
    assert marker_version(marker) == 2 and written_by(marker, "mine")
    assert "category" not in marker  # never in the category index


def test_a_create_is_conditioned_on_the_marker_it_read(aws: Any) -> None:
    real = ProductRepository(writer=aws, reader=aws, table_name=TABLE)
    real.create("p1", item("p1", 1), marker_version=0)
    real.delete("p1", 1, write_token="t")
    # A create that read "no marker" (or an older one) would reuse version 1: refused.
    with pytest.raises(ConditionFailed):
        real.create("p1", item("p1", 1), marker_version=0)
    with pytest.raises(ConditionFailed):
        real.create("p1", item("p1", 2), marker_version=7)
    real.create("p1", item("p1", 2), marker_version=1)
    assert item_of(aws, "p1")["version"] == {"N": "2"}


def test_a_ttl_expiry_raises_the_marker_and_renumbers_a_racing_recreate(aws: Any) -> None:
    real = ProductRepository(writer=aws, reader=aws, table_name=TABLE)
    # The TTL deleted version 7 (no marker); a create read "no marker" and made version 1.
    real.create("p1", item("p1", 1), marker_version=0)
    real.record_expiry("p1", 7)
    assert marker_version(marker_of(aws, "p1")) == 7
    assert item_of(aws, "p1")["version"] == {"N": "8"}  # above every expired version
    real.record_expiry("p1", 7)  # a replayed record changes nothing more
    real.record_expiry("p1", 5)  # nor does an older one
    assert marker_version(marker_of(aws, "p1")) == 7
    assert item_of(aws, "p1")["version"] == {"N": "8"}


def test_a_ttl_expiry_without_a_recreate_only_raises_the_marker(aws: Any) -> None:
    real = ProductRepository(writer=aws, reader=aws, table_name=TABLE)
    real.record_expiry("p2", 3)
    assert marker_version(marker_of(aws, "p2")) == 3
    assert item_of(aws, "p2") is None
