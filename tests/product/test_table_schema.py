"""The table schema: create_table kwargs build the documented table in moto (one source)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from cache_constructs.product import table_schema as schema


@pytest.fixture
def dynamodb() -> Iterator[object]:
    with mock_aws():
        yield boto3.client(
            "dynamodb",
            region_name="eu-west-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


def test_create_table_kwargs_build_the_documented_table(dynamodb) -> None:  # type: ignore[no-untyped-def]
    dynamodb.create_table(**schema.create_table_kwargs("products"))
    dynamodb.update_time_to_live(
        TableName="products", TimeToLiveSpecification=schema.ttl_specification()
    )
    table = dynamodb.describe_table(TableName="products")["Table"]

    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "PK": "HASH",
        "SK": "RANGE",
    }
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["LatestStreamArn"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "category-index"
    assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == {
        "category": "HASH",
        "productId": "RANGE",
    }
    assert index["Projection"] == {"ProjectionType": "ALL"}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {"PK": "S", "SK": "S", "category": "S", "productId": "S"}
    ttl = dynamodb.describe_time_to_live(TableName="products")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


def test_item_key_and_category_query_work_against_the_table(dynamodb) -> None:  # type: ignore[no-untyped-def]
    dynamodb.create_table(**schema.create_table_kwargs("products"))
    key = schema.item_key("p-1")
    assert key == {"PK": "PRODUCT#p-1", "SK": "METADATA"}
    dynamodb.put_item(
        TableName="products",
        Item={
            "PK": {"S": key["PK"]},
            "SK": {"S": key["SK"]},
            "productId": {"S": "p-1"},
            "category": {"S": "books"},
            "version": {"N": "1"},
        },
    )
    found = dynamodb.query(
        TableName="products",
        IndexName=schema.CATEGORY_INDEX_NAME,
        KeyConditionExpression="category = :c",
        ExpressionAttributeValues={":c": {"S": "books"}},
    )
    assert [item["productId"]["S"] for item in found["Items"]] == ["p-1"]


def test_table_name_is_required() -> None:
    with pytest.raises(ValueError, match="table_name must not be empty"):
        schema.create_table_kwargs("")
