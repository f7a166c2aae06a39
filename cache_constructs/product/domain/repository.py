"""Conditional writes of product items and their deletion markers (DynamoDB low-level API,
through DAX when configured).

Every write states the state it expects, so two writers can never both commit on top of the
same version: the loser gets `ConditionFailed` and the API answers 409/412, not 500.

Versions never repeat for an id. A delete writes the product's deletion marker (SK
``DELETED``, holding the last version) in the same transaction as it deletes the item; a create
starts at the marker's version + 1, in a transaction conditioned on the marker being exactly
what it read, so a delete that lands between that read and the create fails the create
instead of letting it reuse a version.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from cache_constructs.product import table_schema
from cache_constructs.product.domain.representation import marker_key, product_key

PARTITION_KEY = table_schema.PARTITION_KEY
VERSION = table_schema.VERSION_ATTRIBUTE
WRITE_TOKEN = table_schema.WRITE_TOKEN_ATTRIBUTE
CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELED = "TransactionCanceledException"
# Cancellation reasons that mean "the state was not what this write expected".
_LOST_RACE_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})

Item = dict[str, Any]
"""A product item in DynamoDB's low-level attribute-value form."""


class ConditionFailed(Exception):
    """The item (or its deletion marker) changed, appeared or vanished since it was read."""


def _error_code(error: Exception) -> str | None:
    # botocore's ClientError and amazondax's DaxClientError/DaxServiceError (its subclasses)
    # all carry the DynamoDB error code in `response`.
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code if isinstance(code, str) else None


def _cancellation_codes(error: Exception) -> list[str]:
    # DynamoDB puts the reasons in the response; the DAX client on the exception.
    response = getattr(error, "response", None)
    reasons = response.get("CancellationReasons") if isinstance(response, dict) else None
    if reasons is None:
        reasons = getattr(error, "cancellation_reasons", None)
    codes = []
    for reason in reasons or []:
        code = reason.get("Code") if isinstance(reason, dict) else None
        if isinstance(code, str) and code != "None":
            codes.append(code)
    return codes


def _condition_failed(error: Exception) -> bool:
    code = _error_code(error)
    if code == CONDITIONAL_CHECK_FAILED:
        return True
    if code == TRANSACTION_CANCELED:
        codes = _cancellation_codes(error)
        # No reasons given: the caller reads the state again and decides from that.
        return not codes or any(c in _LOST_RACE_REASONS for c in codes)
    return False


def written_by(item: Item | None, write_token: str) -> bool:
    """Whether `item` (a product or a deletion marker) was last written by `write_token`."""
    return item is not None and item.get(WRITE_TOKEN) == {"S": write_token}


def marker_version(marker: Item | None) -> int:
    """The last version a deleted product had (0 when it was never deleted)."""
    if marker is None:
        return 0
    return int(marker.get(VERSION, {}).get("N", "0"))


class ProductRepository:
    """Reads the current item and writes the next version of it, conditionally.

    `writer` is the client writes go through (DAX when configured, so its item cache stays
    coherent); `reader` serves the strongly consistent reads of the current state.
    """

    def __init__(self, *, writer: Any, reader: Any, table_name: str) -> None:
        self._writer = writer
        self._reader = reader
        self._table = table_name

    # --- reads (strongly consistent) --------------------------------------------------------

    def item(self, product_id: str) -> Item | None:
        """The product item as committed now, or None."""
        return self._get(product_key(product_id))

    def marker(self, product_id: str) -> Item | None:
        """The product's deletion marker as committed now, or None (never deleted)."""
        return self._get(marker_key(product_id))

    def _get(self, key: Item) -> Item | None:
        response = self._reader.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        item: Item | None = response.get("Item")
        return item

    # --- writes ---------------------------------------------------------------------------

    def create(self, product_id: str, item: Item, *, marker_version: int) -> None:
        """Put `item` (product `product_id`) if no product has its key and the deletion
        marker still holds `marker_version` (0: there is no marker); ConditionFailed
        otherwise."""
        if marker_version:
            marker_condition: dict[str, Any] = {
                "ConditionExpression": "#v = :last",
                "ExpressionAttributeNames": {"#v": VERSION},
                "ExpressionAttributeValues": {":last": {"N": str(marker_version)}},
            }
        else:
            marker_condition = {
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            }
        self._transact(
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": marker_key(product_id),
                    **marker_condition,
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
                }
            },
        )

    def replace(self, item: Item, expected_version: int) -> None:
        """Put `item` only if the stored item is still at `expected_version`."""
        self._guarded(
            self._writer.put_item,
            TableName=self._table,
            Item=item,
            ConditionExpression="#v = :expected",
            ExpressionAttributeNames={"#v": VERSION},
            ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
        )

    def delete(self, product_id: str, expected_version: int, *, write_token: str) -> None:
        """Delete the product if it is still at `expected_version`, and in the same
        transaction leave its deletion marker at that version (carrying `write_token`)."""
        version = {"N": str(expected_version)}
        marker = {**marker_key(product_id), VERSION: version, WRITE_TOKEN: {"S": write_token}}
        self._transact(
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": product_key(product_id),
                    "ConditionExpression": "#v = :expected",
                    "ExpressionAttributeNames": {"#v": VERSION},
                    "ExpressionAttributeValues": {":expected": version},
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": marker,
                    # Only ever raised: an older marker is below every version of this item.
                    "ConditionExpression": "attribute_not_exists(#pk) OR #v < :expected",
                    "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#v": VERSION},
                    "ExpressionAttributeValues": {":expected": version},
                }
            },
        )

    def record_expiry(self, product_id: str, expired_version: int) -> None:
        """After DynamoDB's TTL deleted the product at `expired_version` (no transaction ran):
        raise the deletion marker to it, and renumber a product re-created in between.

        A create that read the marker before it was raised started at or below
        `expired_version`; moving that item to `version + expired_version` puts it above every
        version the expired item had (readers and writers holding one of those then get a
        412, not a lost update). Both steps are conditional, so replaying the record changes
        nothing more.
        """
        version = {"N": str(expired_version)}
        with suppress(ConditionFailed):  # the marker already holds this version or a later one
            self._guarded(
                self._writer.put_item,
                TableName=self._table,
                Item={**marker_key(product_id), VERSION: version},
                ConditionExpression="attribute_not_exists(#pk) OR #v < :expired",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#v": VERSION},
                ExpressionAttributeValues={":expired": version},
            )
        with suppress(ConditionFailed):  # no product, or one created above the marker
            self._guarded(
                self._writer.update_item,
                TableName=self._table,
                Key=product_key(product_id),
                UpdateExpression="SET #v = #v + :expired",
                ConditionExpression="#v <= :expired",
                ExpressionAttributeNames={"#v": VERSION},
                ExpressionAttributeValues={":expired": version},
            )

    # --- helpers ----------------------------------------------------------------------------

    def _transact(self, *items: dict[str, Any]) -> None:
        self._guarded(self._writer.transact_write_items, TransactItems=list(items))

    @staticmethod
    def _guarded(call: Any, **request: Any) -> None:
        try:
            call(**request)
        except Exception as error:
            if _condition_failed(error):
                raise ConditionFailed from error
            raise
