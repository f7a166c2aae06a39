"""CacheDashboard: which sections exist for which sources, and what each widget plots."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, CfnParameter, Duration, Stack, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from helpers import new_function, new_stack, new_vpc

from cache_constructs.cache_dashboard import CacheDashboard
from cache_constructs.cached_rest_api import CachedRestApi
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.dax_cache import DaxCache
from cache_constructs.invalidation_channel import InvalidationChannel
from cache_constructs.metric_sources import MetricSources, ServiceMetrics
from cache_constructs.stream_invalidator import StreamInvalidator
from cache_constructs.valkey_cache import ReplicatedValkeyCache, ServerlessValkeyCache

pytestmark = pytest.mark.synth

ALL_SECTIONS = [
    "API Gateway cache",
    "Cache layers (handler metrics)",
    "Valkey (L2)",
    "DAX",
    "Lambda functions",
    "Stream invalidation",
    "DynamoDB table",
    "Push invalidation",
]
#: The props that turn each section of ALL_SECTIONS on, in the same order.
SOURCES = ["api", "service_metrics", "valkey", "dax", "functions", "stream", "table", "push"]


def _metric(namespace: str, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map={"Test": "yes"},
        statistic=statistic,
        period=Duration.minutes(1),
    )


class FakeApi:
    """Stands in for CachedRestApi: only its metric methods matter to the dashboard."""

    def metric_cache_hit_count(self) -> cloudwatch.IMetric:
        return _metric("AWS/ApiGateway", "CacheHitCount")

    def metric_cache_miss_count(self) -> cloudwatch.IMetric:
        return _metric("AWS/ApiGateway", "CacheMissCount")

    def metric_latency(self) -> cloudwatch.IMetric:
        return _metric("AWS/ApiGateway", "Latency", "Average")

    def metric_integration_latency(self) -> cloudwatch.IMetric:
        return _metric("AWS/ApiGateway", "IntegrationLatency", "Average")


class FakeValkey:
    def __init__(self, *, replication_lag: bool = True) -> None:
        self.replication_lag = replication_lag

    def metric_cpu_utilization(self) -> cloudwatch.IMetric:
        return _metric("AWS/ElastiCache", "EngineCPUUtilization", "Maximum")

    def metric_memory_usage_percent(self) -> cloudwatch.IMetric:
        return _metric("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Maximum")

    def metric_evictions(self) -> cloudwatch.IMetric:
        return _metric("AWS/ElastiCache", "Evictions")

    def metric_current_connections(self) -> cloudwatch.IMetric:
        return _metric("AWS/ElastiCache", "CurrConnections", "Maximum")

    def metric_replication_lag(self) -> cloudwatch.IMetric | None:
        return (
            _metric("AWS/ElastiCache", "ReplicationLag", "Maximum")
            if self.replication_lag
            else None
        )

    def metric_cache_hit_rate(self) -> cloudwatch.IMetric:
        return _metric("AWS/ElastiCache", "CacheHitRate", "Average")


class FakeDax:
    def metric_item_cache_hits(self) -> cloudwatch.IMetric:
        return _metric("AWS/DAX", "ItemCacheHits")

    def metric_item_cache_misses(self) -> cloudwatch.IMetric:
        return _metric("AWS/DAX", "ItemCacheMisses")

    def metric_query_cache_hits(self) -> cloudwatch.IMetric:
        return _metric("AWS/DAX", "QueryCacheHits")

    def metric_query_cache_misses(self) -> cloudwatch.IMetric:
        return _metric("AWS/DAX", "QueryCacheMisses")

    def metric_evicted_size(self) -> cloudwatch.IMetric:
        return _metric("AWS/DAX", "EvictedSize")

    def metric_error_request_count(self) -> cloudwatch.IMetric:
        return _metric("AWS/DAX", "ErrorRequestCount")

    def metric_fault_request_count(self) -> cloudwatch.IMetric:
        return _metric("AWS/DAX", "FaultRequestCount")


def _stack() -> tuple[App, Stack]:
    app = App()
    return app, Stack(app, "Test")


def _table(stack: Stack) -> dynamodb.Table:
    return dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
    )


def _function(stack: Stack, id_: str) -> lambda_.Function:
    role = iam.Role(stack, f"{id_}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    return lambda_.Function(
        stack,
        id_,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
        role=role,
    )


def _all_sources(stack: Stack, *, replication_lag: bool = True) -> dict[str, Any]:
    table = _table(stack)
    read, invalidate = _function(stack, "Read"), _function(stack, "Invalidate")
    return {
        "api": FakeApi(),
        "service_metrics": ServiceMetrics(),
        "valkey": FakeValkey(replication_lag=replication_lag),
        "dax": FakeDax(),
        "functions": [read, invalidate],
        "stream": StreamInvalidator(stack, "Invalidator", table=table, function=invalidate),
        "table": table,
        "push": InvalidationChannel(
            stack,
            "Push",
            publisher_code=lambda_.Code.from_inline("def handler(event, context):\n    pass\n"),
        ),
    }


def _body(stack: Stack) -> dict[str, Any]:
    """The dashboard body with every CloudFormation token replaced by the string TOKEN."""
    dashboards = Template.from_stack(stack).find_resources("AWS::CloudWatch::Dashboard")
    assert len(dashboards) == 1
    body = next(iter(dashboards.values()))["Properties"]["DashboardBody"]
    if isinstance(body, dict):
        parts = body["Fn::Join"][1]
        body = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    return json.loads(body)


def _graphs(body: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """Graph title -> its metric rows."""
    return {
        w["properties"]["title"]: w["properties"]["metrics"]
        for w in body["widgets"]
        if w["type"] == "metric"
    }


def _headers(body: dict[str, Any]) -> list[str]:
    return [
        w["properties"]["markdown"].removeprefix("## ")
        for w in body["widgets"]
        if w["type"] == "text"
    ]


def _names(rows: list[list[Any]]) -> list[str]:
    """Metric names plotted (not the hidden inputs of expressions), expressions as text."""
    names = []
    for row in rows:
        options = row[-1] if isinstance(row[-1], dict) else {}
        if options.get("visible") is False:
            continue
        names.append(options["expression"] if "expression" in options else row[1])
    return names


@pytest.fixture(scope="module")
def full_body() -> dict[str, Any]:
    _, stack = _stack()
    dashboard = CacheDashboard(stack, "Dashboard", sources=MetricSources(**_all_sources(stack)))
    assert dashboard.sections == ALL_SECTIONS
    return _body(stack)


def test_every_section_is_built_when_every_source_is_given(full_body) -> None:
    assert _headers(full_body) == ALL_SECTIONS
    assert full_body["start"] == "-PT3H"


def test_api_section_plots_stage_cache_and_latency_percentiles(full_body) -> None:
    graphs = _graphs(full_body)
    assert _names(graphs["Stage cache hits / misses"]) == ["CacheHitCount", "CacheMissCount"]
    (rate,) = _names(graphs["Stage cache hit rate (%)"])
    assert "100 * FILL(h, 0) / (FILL(h, 0) + FILL(m, 0))" in rate
    latency = graphs["Latency / integration latency (ms)"]
    assert [(row[1], row[-1]["stat"]) for row in latency] == [
        ("Latency", "p50"),
        ("Latency", "p99"),
        ("IntegrationLatency", "p50"),
        ("IntegrationLatency", "p99"),
    ]


def test_handler_section_reads_the_emf_names_of_the_contract(full_body) -> None:
    graphs = _graphs(full_body)
    for title, expected in {
        "L1 hits / misses": ["L1Hit", "L1Miss"],
        "L2 hits / misses": ["L2Hit", "L2Miss"],
        "Degraded paths": [
            "CacheBypass",
            "StaleServed",
            "LeaseWait",
            "CacheWriteFailure",
            "L1TrackingUnavailable",
        ],
        "Origin reads and invalidations": ["OriginRead", "DaxFallback", "Invalidations"],
    }.items():
        rows = graphs[title]
        assert _names(rows) == expected
        # namespace, name, dimension name, dimension value, options
        assert all(row[0] == "CachedProductService" for row in rows)
        assert all(row[2:4] == ["service", "product-service"] for row in rows)
        assert all(row[-1]["stat"] == "Sum" for row in rows)
    for layer in ("L1", "L2", "Origin"):
        rows = graphs[f"{layer}Latency p50 / p99 (ms)"]
        assert [(row[1], row[-1]["stat"]) for row in rows] == [
            (f"{layer}Latency", "p50"),
            (f"{layer}Latency", "p99"),
        ]


def test_hit_rate_per_layer_is_a_guarded_math_expression(full_body) -> None:
    rows = _graphs(full_body)["Hit rate by layer (%)"]
    expressions = [row[-1] for row in rows if "expression" in row[-1]]
    assert [e["label"] for e in expressions] == ["L1 hit rate %", "L2 hit rate %"]
    for layer, expression in zip(("l1", "l2"), expressions, strict=True):
        h, m = f"FILL({layer}_hits, 0)", f"FILL({layer}_misses, 0)"
        assert expression["expression"] == (f"IF(({h} + {m}) >= 1, 100 * {h} / ({h} + {m}), 100)")
    hidden = [row[1] for row in rows if row[-1].get("visible") is False]
    assert hidden == ["L1Hit", "L1Miss", "L2Hit", "L2Miss"]


def test_valkey_dax_stream_and_table_sections(full_body) -> None:
    graphs = _graphs(full_body)
    assert _names(graphs["Memory used (%)"]) == ["DatabaseMemoryUsagePercentage"]
    assert _names(graphs["Evictions"]) == ["Evictions"]
    assert _names(graphs["CPU (%)"]) == ["EngineCPUUtilization"]
    assert _names(graphs["Connections"]) == ["CurrConnections"]
    assert _names(graphs["Hit rate (%)"]) == ["CacheHitRate"]
    assert _names(graphs["Replication lag (s)"]) == ["ReplicationLag"]
    assert _names(graphs["Item cache hits / misses"]) == ["ItemCacheHits", "ItemCacheMisses"]
    assert _names(graphs["Query cache hits / misses"]) == ["QueryCacheHits", "QueryCacheMisses"]
    assert _names(graphs["Evicted size (bytes)"]) == ["EvictedSize"]
    assert _names(graphs["Errors / faults"]) == ["ErrorRequestCount", "FaultRequestCount"]
    assert _names(graphs["Iterator age (ms): invalidation lag"]) == ["IteratorAge"]
    assert _names(graphs["Dead-letter queue depth"]) == ["ApproximateNumberOfMessagesVisible"]
    assert _names(graphs["Throttle events"]) == ["ReadThrottleEvents", "WriteThrottleEvents"]
    throttled = graphs["Throttled requests (item and query operations)"]
    operations = [row[row.index("Operation") + 1] for row in throttled if "Operation" in row]
    assert operations == ["GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"]


def test_lambda_section_has_one_line_per_function(full_body) -> None:
    graphs = _graphs(full_body)
    for title, name, stat in (
        ("Errors", "Errors", "Sum"),
        ("Throttles", "Throttles", "Sum"),
        ("Duration p95 (ms)", "Duration", "p95"),
    ):
        rows = graphs[title]
        assert [(row[1], row[-1]["label"], row[-1]["stat"]) for row in rows] == [
            (name, "Read", stat),
            (name, "Invalidate", stat),
        ]


def test_push_section_shows_handovers_publishes_the_event_api_and_the_clients(full_body) -> None:
    graphs = _graphs(full_body)
    handovers = graphs["Handovers by the invalidation function"]
    assert _names(handovers) == ["PushHandedOver", "PushHandoverFailure"]
    assert all(row[0] == "CachedProductService" for row in handovers)
    publishes = graphs["Publishes by the publisher function"]
    assert _names(publishes) == ["PushPublished", "PushPublishFailure", "AsyncEventsDropped"]
    assert publishes[-1][0] == "AWS/Lambda"
    assert _names(graphs["Event API publish errors"]) == ["FILL(client, 0) + FILL(server, 0)"]
    assert _names(graphs["Client connections"]) == [
        "ActiveConnections",
        "ConnectSuccess",
        "ConnectClientError",
        "ConnectServerError",
    ]
    assert _names(graphs["Deliveries and subscriptions"]) == [
        "PublishDataMessageSuccess",
        "FILL(sub_client, 0) + FILL(sub_server, 0)",
    ]


def test_push_section_without_handler_metrics_or_publisher_leaves_their_graphs_out() -> None:
    _, stack = _stack()
    CacheDashboard(
        stack, "Dashboard", sources=MetricSources(push=InvalidationChannel(stack, "Push"))
    )
    graphs = _graphs(_body(stack))
    assert "Handovers by the invalidation function" not in graphs
    assert "Publishes by the publisher function" not in graphs
    assert "Client connections" in graphs


def test_replication_lag_widget_only_when_the_cache_has_replicas() -> None:
    _, stack = _stack()
    CacheDashboard(
        stack, "Dashboard", sources=MetricSources(valkey=FakeValkey(replication_lag=False))
    )
    graphs = _graphs(_body(stack))
    assert "Replication lag (s)" not in graphs
    assert "Memory used (%)" in graphs


@pytest.mark.parametrize(("source", "section"), list(zip(SOURCES, ALL_SECTIONS, strict=True)))
def test_each_section_is_built_only_for_what_is_given(source: str, section: str) -> None:
    _, stack = _stack()
    dashboard = CacheDashboard(
        stack, "Dashboard", sources=MetricSources(**{source: _all_sources(stack)[source]})
    )
    expected = [section]
    assert dashboard.sections == expected
    assert _headers(_body(stack)) == expected


def test_dashboard_name_and_interval_props() -> None:
    _, stack = _stack()
    CacheDashboard(
        stack,
        "Dashboard",
        dashboard_name="product-cache-health",
        default_interval=Duration.hours(12),
        sources=MetricSources(
            service_metrics=ServiceMetrics(namespace="Shop", service_name="catalog")
        ),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": "product-cache-health"}
    )
    body = _body(stack)
    assert body["start"] == "-PT12H"
    rows = _graphs(body)["L2 hits / misses"]
    assert [row[:4] for row in rows] == [
        ["Shop", "L2Hit", "service", "catalog"],
        ["Shop", "L2Miss", "service", "catalog"],
    ]


@pytest.mark.parametrize("name", ["", "has space", "x" * 256, "slash/name"])
def test_bad_dashboard_name_is_rejected(name: str) -> None:
    _, stack = _stack()
    with pytest.raises(ValueError, match="dashboard_name"):
        CacheDashboard(
            stack, "Dashboard", dashboard_name=name, sources=MetricSources(api=FakeApi())
        )


def test_dashboard_name_token_is_not_validated() -> None:
    _, stack = _stack()
    name = CfnParameter(stack, "Name").value_as_string
    CacheDashboard(stack, "Dashboard", dashboard_name=name, sources=MetricSources(api=FakeApi()))
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": {"Ref": "Name"}}
    )


def test_a_dashboard_without_any_source_is_rejected() -> None:
    _, stack = _stack()
    with pytest.raises(ValueError, match="sources has no part to show"):
        CacheDashboard(stack, "Dashboard", sources=MetricSources(functions=[]))


def test_sources_must_say_what_to_watch() -> None:
    _, stack = _stack()
    with pytest.raises(ValueError, match="sources must have metric_sources"):
        CacheDashboard(stack, "Dashboard", sources=FakeApi())  # type: ignore[arg-type]


def test_service_metrics_props_are_validated() -> None:
    with pytest.raises(ValueError, match=r"^namespace must be a non-empty string"):
        ServiceMetrics(namespace="")
    with pytest.raises(ValueError, match="service_name"):
        ServiceMetrics(service_name="")
    with pytest.raises(ValueError, match="min_requests"):
        ServiceMetrics().metric_hit_rate_percent("L2", min_requests=0)


def test_a_subclass_replaces_one_section() -> None:
    class QuietValkeyDashboard(CacheDashboard):
        def _build_valkey_widgets(self) -> list[cloudwatch.IWidget]:
            return [cloudwatch.TextWidget(markdown="Valkey is watched elsewhere", width=24)]

    _, stack = _stack()
    QuietValkeyDashboard(
        stack, "Dashboard", sources=MetricSources(valkey=FakeValkey(), dax=FakeDax())
    )
    body = _body(stack)
    assert "Memory used (%)" not in _graphs(body)
    assert "Item cache hits / misses" in _graphs(body)
    assert "Valkey is watched elsewhere" in [
        w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"
    ]


def test_cdk_nag_aws_solutions_passes() -> None:
    app, stack = _stack()
    CacheDashboard(stack, "Dashboard", sources=MetricSources(**_all_sources(stack)))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged finding


@pytest.mark.parametrize("valkey_mode", ["replication-group", "serverless"])
def test_dashboard_of_the_project_constructs_passes_cdk_nag(valkey_mode: str) -> None:
    stack = new_stack(nag=True)
    vpc = new_vpc(stack)
    table = _table(stack)
    read, invalidate = new_function(stack, id_="Read"), new_function(stack, id_="Invalidate")
    api = CachedRestApi(stack, "Api")
    api.add_cached_route(
        api.api.root.add_resource("products"),
        "GET",
        apigateway.LambdaIntegration(read),
        policy=CachePolicy.DYNAMIC,
    )
    valkey_class = (
        ReplicatedValkeyCache if valkey_mode == "replication-group" else ServerlessValkeyCache
    )
    dashboard = CacheDashboard(
        stack,
        "Dashboard",
        sources=MetricSources(
            api=api,
            service_metrics=ServiceMetrics(),
            valkey=valkey_class(stack, "Valkey", vpc=vpc),
            dax=DaxCache(stack, "Dax", vpc=vpc, table=table),
            functions=[read, invalidate],
            stream=StreamInvalidator(stack, "Invalidator", table=table, function=invalidate),
            table=table,
            push=InvalidationChannel(
                stack,
                "Push",
                publisher_code=lambda_.Code.from_inline("def handler(event, context):\n    pass\n"),
            ),
        ),
    )
    assert dashboard.sections == ALL_SECTIONS
    graphs = _graphs(_body(stack))
    # A replication group with replicas has a lag; a serverless cache has none.
    assert ("Replication lag (s)" in graphs) == (valkey_mode == "replication-group")
    latency = graphs["Latency / integration latency (ms)"]
    assert [(row[1], row[-1]["stat"]) for row in latency] == [
        ("Latency", "p50"),
        ("Latency", "p99"),
        ("IntegrationLatency", "p50"),
        ("IntegrationLatency", "p99"),
    ]
    stack.node.root.synth()  # raises on any unacknowledged finding
