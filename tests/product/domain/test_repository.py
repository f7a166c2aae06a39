"""Conditional-write failures are recognised from DynamoDB and from the DAX client alike."""

from __future__ import annotations

from typing import Any

import pytest
from amazondax.DaxError import DaxClientError, DaxErrorCode

from cache_constructs.product.domain.repository import ConditionFailed, ProductRepository


class DaxLikeWriter:
    """DAX cannot run here: this writer raises what amazondax raises for a failed condition."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def put_item(self, **_: Any) -> None:
        raise self.error

    def delete_item(self, **_: Any) -> None:
        raise self.error


def repository(error: Exception) -> ProductRepository:
    return ProductRepository(writer=DaxLikeWriter(error), reader=None, table_name="products")


def test_dax_condition_failures_become_condition_failed() -> None:
    error = DaxClientError("The conditional request failed", DaxErrorCode.ConditionalCheckFailed)
    with pytest.raises(ConditionFailed):
        repository(error).create({"PK": {"S": "PRODUCT#p1"}})
    with pytest.raises(ConditionFailed):
        repository(error).replace({"PK": {"S": "PRODUCT#p1"}}, 3)
    with pytest.raises(ConditionFailed):
        repository(error).delete({"PK": {"S": "PRODUCT#p1"}}, 3)


def test_other_dax_errors_propagate() -> None:
    error = DaxClientError("throttled", DaxErrorCode.Throttling)
    with pytest.raises(DaxClientError):
        repository(error).create({"PK": {"S": "PRODUCT#p1"}})


def test_moto_condition_failures_become_condition_failed(aws: Any) -> None:
    real = ProductRepository(writer=aws, reader=aws, table_name="products")
    item = {"PK": {"S": "PRODUCT#p1"}, "SK": {"S": "METADATA"}, "version": {"N": "1"}}
    real.create(item)
    with pytest.raises(ConditionFailed):
        real.create(item)
    with pytest.raises(ConditionFailed):
        real.replace({**item, "version": {"N": "2"}}, 5)
    real.replace({**item, "version": {"N": "2"}}, 1)
    assert real.current({"PK": item["PK"], "SK": item["SK"]})["version"] == {"N": "2"}
    with pytest.raises(ConditionFailed):
        real.delete({"PK": item["PK"], "SK": item["SK"]}, 1)
    real.delete({"PK": item["PK"], "SK": item["SK"]}, 2)
    assert real.current({"PK": item["PK"], "SK": item["SK"]}) is None
