"""Conditional writes of product items (DynamoDB low-level API, through DAX when configured).

Every write states the version it expects, so two writers can never both commit on top of
the same version: the loser gets `ConditionFailed` and the API answers 409/412, not 500.
"""

from __future__ import annotations

from typing import Any

from cache_constructs.product import table_schema

PARTITION_KEY = table_schema.PARTITION_KEY
VERSION = table_schema.VERSION_ATTRIBUTE
CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"

Item = dict[str, Any]
"""A product item in DynamoDB's low-level attribute-value form."""


class ConditionFailed(Exception):
    """The item changed (or appeared, or vanished) since it was read."""


def _condition_failed(error: Exception) -> bool:
    # botocore's ClientError and amazondax's DaxClientError/DaxServiceError (its subclasses)
    # all carry the DynamoDB error code in `response`.
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code == CONDITIONAL_CHECK_FAILED


class ProductRepository:
    """Reads the current item and writes the next version of it, conditionally.

    `writer` is the client writes go through (DAX when configured, so its item cache stays
    coherent); `reader` serves the strongly consistent read of the current version.
    """

    def __init__(self, *, writer: Any, reader: Any, table_name: str) -> None:
        self._writer = writer
        self._reader = reader
        self._table = table_name

    def current(self, key: Item) -> Item | None:
        """The item as committed now (strongly consistent), or None."""
        response = self._reader.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        item: Item | None = response.get("Item")
        return item

    def create(self, item: Item) -> None:
        """Put `item` only if no item has its key; ConditionFailed otherwise."""
        self._put(item, "attribute_not_exists(#pk)", {"#pk": PARTITION_KEY}, None)

    def replace(self, item: Item, expected_version: int) -> None:
        """Put `item` only if the stored item is still at `expected_version`."""
        self._put(
            item,
            "#version = :expected",
            {"#version": VERSION},
            {":expected": {"N": str(expected_version)}},
        )

    def delete(self, key: Item, expected_version: int) -> None:
        """Delete the item only if it is still at `expected_version`."""
        try:
            self._writer.delete_item(
                TableName=self._table,
                Key=key,
                ConditionExpression="#version = :expected",
                ExpressionAttributeNames={"#version": VERSION},
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except Exception as error:
            if _condition_failed(error):
                raise ConditionFailed from error
            raise

    def _put(
        self,
        item: Item,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any] | None,
    ) -> None:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._writer.put_item(**request)
        except Exception as error:
            if _condition_failed(error):
                raise ConditionFailed from error
            raise
