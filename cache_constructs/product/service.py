"""CachedProductService: the product table, its four functions and every cache layer, wired.

What it builds (docs/architecture.md), each part either built here or brought by the caller:

- the DynamoDB table (keys, category index, stream, TTL attribute from ``table_schema``),
  encrypted, point-in-time recovery on; or an existing ``table`` with that schema;
- the read, list, write and invalidation functions (Python 3.14, arm64, X-Ray, Powertools,
  one shared asset from ``function_code``), each in the VPC's private subnets with a security
  group of its own (egress: HTTPS to DynamoDB's prefix list, the cache ports the cache grants
  open, nothing else) and a log group with a retention;
- the L2 cache (``ServerlessValkeyCache`` or ``ReplicatedValkeyCache``, or an existing
  ``IValkeyCache``), optionally a DAX cluster (``DaxCache``) for item reads;
- the REST API (``CachedRestApi``) with the routes of ``routes``: the list route is cached at
  API Gateway keyed by its query parameters, the item route is not (by default);
- the ``StreamInvalidator`` that feeds the table's stream to the invalidation function;
- the VPC's one DynamoDB gateway endpoint (``dynamodb_network``), shared with every other
  service on that VPC.

Every function gets only what it needs: read GetItem (+ DAX read), list Query on the category
index, write conditional Put/Delete/ConditionCheck and GetItem (+ DAX write), invalidation
stream read, the dead-letter queue and Put/Update (a TTL-expired product's deletion marker).
DynamoDB is reached through the gateway endpoint, so no NAT is needed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol, runtime_checkable

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cache_constructs import dynamodb_network, lambda_network
from cache_constructs._checkov import skip_checkov
from cache_constructs._nag import acknowledge_function_role
from cache_constructs._validation import (
    is_unresolved,
    require_instance,
    require_int_range,
    require_not_both,
    require_one_of,
)
from cache_constructs.bundling import check_wheelhouse
from cache_constructs.cached_rest_api import CachedRestApi, CachedRestApiProps
from cache_constructs.contract import environment as env_names
from cache_constructs.contract.metrics import DEFAULT_METRICS_NAMESPACE
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.contract.stream import INVALIDATION_FUNCTION_TIMEOUT_SECONDS
from cache_constructs.dax_cache import DaxCache, DaxCacheProps
from cache_constructs.invalidation_channel import InvalidationChannel, InvalidationChannelProps
from cache_constructs.log_groups import LOG_REMOVAL_POLICIES, LogGroupSettings, build_log_group
from cache_constructs.metric_sources import MetricSources, ServiceMetrics, ValkeyMetricsSource
from cache_constructs.product import table_schema as schema
from cache_constructs.product.function_code import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    ProductServiceCode,
)
from cache_constructs.product.handlers import (
    LIST_HANDLER,
    READ_HANDLER,
    STREAM_HANDLER,
    WRITE_HANDLER,
)
from cache_constructs.product.routes import (
    COLLECTION_PATH,
    GET_PRODUCT,
    ITEM_PATH,
    LIST_PRODUCTS,
    PRODUCT_ROUTES,
    ProductRoute,
    policy_for_route,
)
from cache_constructs.stream_invalidator import StreamInvalidator
from cache_constructs.valkey_cache import (
    IValkeyCache,
    ReplicatedValkeyCache,
    ReplicatedValkeyCacheProps,
    ServerlessValkeyCache,
    ServerlessValkeyCacheProps,
)

_VALIDATION_ERRORS = ("BAD_REQUEST_PARAMETERS", "BAD_REQUEST_BODY")
#: API Gateway response type -> status and the error code of docs/architecture.md.
_GATEWAY_ERRORS = (
    (apigateway.ResponseType.BAD_REQUEST_PARAMETERS, "400", "bad_request"),
    (apigateway.ResponseType.BAD_REQUEST_BODY, "400", "bad_request"),
    (apigateway.ResponseType.REQUEST_TOO_LARGE, "413", "payload_too_large"),
    (apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE, "415", "unsupported_media_type"),
)
_POLICY_HINT = " (e.g. CachePolicy.named('static') or CachePolicy.STATIC)"
ValkeyCacheBuildProps = ServerlessValkeyCacheProps | ReplicatedValkeyCacheProps
"""The props a service builds its L2 cache from; their type picks the variant."""

_ENV_REASON = (
    "the environment holds no secret (table name, cache endpoint and user, cache policies, "
    "Powertools settings); Lambda encrypts it at rest with its AWS-managed key"
)
_API_DLQ_REASON = (
    "invoked synchronously by API Gateway: a function DLQ only receives asynchronous "
    "invocations; errors reach the caller and the LambdaErrors alarm"
)
_STREAM_DLQ_REASON = (
    "invoked by the stream event source mapping, whose on-failure destination is the "
    "StreamInvalidator's SQS dead-letter queue (a function DLQ only serves async invocations)"
)
_UNRESERVED_REASON = (
    "reserved_concurrent_executions not set: the function draws on the account's unreserved "
    "pool (set it to cap the load on the table and the cache)"
)
_STREAM_CONCURRENCY_REASON = (
    "the stream event source bounds its concurrency: one batch per shard times the "
    "parallelization factor"
)


class CachedProductService(Construct):
    """The product service: table, functions, caches, API and stream invalidation.

    Every prop is keyword-only and documented with its default in docs/constructs.md. A
    caller brings an existing resource or the props to build one, never both (ValueError
    naming both).

    :param vpc: the VPC of the functions and caches.
    :param vpc_subnets: where the functions and caches go. Default: the VPC's private
        isolated subnets (private with egress when the VPC has no isolated ones).
    :param dynamodb_gateway_endpoint: the VPC's DynamoDB gateway endpoint
        (`dynamodb_network`): None (default) shares the VPC's one endpoint, created by the
        first service on a VPC of this app; for an imported VPC nothing is added unless True.
        False: the VPC routes DynamoDB by other means.
    :param table: an existing table with the product schema (docs/constructs.md lists the
        keys, index and stream the runtime needs); an imported one must bring its stream ARN
        (``Table.from_table_attributes(..., table_stream_arn=...)``) and, if it has one, its
        customer key (``encryption_key=``). Excludes ``removal_policy``,
        ``deletion_protection`` and ``table_encryption_key``. Default: a table is built.
    :param removal_policy: the built table's removal policy, ``RETAIN`` (default) or
        ``DESTROY``; also the default of ``log_removal_policy``.
    :param deletion_protection: the built table's deletion protection. Default: on unless
        ``removal_policy`` is ``DESTROY``.
    :param table_encryption_key: a customer-managed KMS key for the built table. Default: the
        AWS-managed key.
    :param log_retention: retention of the functions' log groups (and of the API's access
        logs unless ``rest_api_props`` sets it). Default one month.
    :param log_removal_policy: ``RETAIN`` or ``DESTROY`` for every log group built here (and
        the API's unless ``rest_api_props`` sets it). Default: ``removal_policy``, else
        ``RETAIN``.
    :param log_encryption_key: a customer-managed KMS key for every log group built here and
        by the API (CloudWatch Logs is allowed to use a key of this app; an imported key must
        allow it already). Default: CloudWatch Logs' own encryption.
    :param memory_size_mb: memory of the read, list and write functions, 128..10240.
        Default 512.
    :param timeout: timeout of the read, list and write functions, 1..29 s (API Gateway's
        integration limit). Default 10 s.
    :param reserved_concurrent_executions: reserved concurrency of each API function.
        Default: none (unreserved).
    :param item_policy: `CachePolicy` of ``GET /products/{id}``. Default ``semi-static``.
    :param list_policy: `CachePolicy` of ``GET /products``. Default ``dynamic``.
    :param cache_item_route_at_api: also cache ``GET /products/{id}`` in the API Gateway
        stage cache (for the item policy's API TTL). Default False: the stage cache cannot be
        invalidated by writes, so it would add its TTL to the item route's staleness.
    :param rest_api_props: `CachedRestApiProps` of the API. Default: its defaults.
    :param metrics_namespace: ``POWERTOOLS_METRICS_NAMESPACE``. Default
        ``"CachedProductService"``.
    :param valkey_cache: an existing L2 cache (any `IValkeyCache`: a built variant or an
        `ImportedValkeyCache`). Excludes ``valkey_cache_props``.
    :param valkey_cache_props: `ServerlessValkeyCacheProps` (a serverless cache) or
        `ReplicatedValkeyCacheProps` (a replication group). Default: a serverless cache with
        the defaults of `ServerlessValkeyCacheProps`.
    :param enable_dax: put a DAX cluster in front of the table for item reads. Default True.
    :param dax_cache_props: `DaxCacheProps`. Default: three ``dax.t3.small`` nodes whose TTLs
        come from the item policy. Not allowed without DAX.
    :param wheelhouse: a directory of wheels (Python 3.14, manylinux2014_aarch64) to bundle
        the functions' requirements from, offline. Default: ``$CACHE_CONSTRUCTS_WHEELHOUSE``,
        else the package index (``cache_constructs.bundling``).
    :param push_invalidation: push every applied change to clients: the invalidation
        function hands it (after invalidating) to the channel's publisher function outside
        the VPC, by an asynchronous invoke through the VPC's Lambda interface endpoint, and
        the publisher publishes it to an ``InvalidationChannel`` (AppSync Events). No NAT
        needed. Default True; False builds none of it.
    :param invalidation_channel: an existing ``InvalidationChannel`` (built with
        ``publisher_code``) to hand changes to. Excludes ``invalidation_channel_props``.
        Default: one is built.
    :param invalidation_channel_props: `InvalidationChannelProps` of the channel built here.
        Default: its defaults; its log groups default to the service's log settings.
    :param lambda_interface_endpoint: the VPC's Lambda interface endpoint (`lambda_network`)
        the invalidation function reaches the Lambda API through: None (default) shares the
        VPC's one endpoint, created by the first service on a VPC of this app; for an
        imported VPC nothing is added unless True. False: the VPC reaches the Lambda API by
        other means (then allow the invalidation function's egress to it yourself).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None = None,
        dynamodb_gateway_endpoint: bool | None = None,
        table: dynamodb.ITable | None = None,
        removal_policy: RemovalPolicy | None = None,
        deletion_protection: bool | None = None,
        table_encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy | None = None,
        log_encryption_key: kms.IKey | None = None,
        memory_size_mb: int = 512,
        timeout: Duration | None = None,
        reserved_concurrent_executions: int | None = None,
        item_policy: CachePolicy | None = None,
        list_policy: CachePolicy | None = None,
        cache_item_route_at_api: bool = False,
        rest_api_props: CachedRestApiProps | None = None,
        metrics_namespace: str = DEFAULT_METRICS_NAMESPACE,
        valkey_cache: IValkeyCache | None = None,
        valkey_cache_props: ValkeyCacheBuildProps | None = None,
        enable_dax: bool = True,
        dax_cache_props: DaxCacheProps | None = None,
        wheelhouse: str | Path | None = None,
        push_invalidation: bool = True,
        invalidation_channel: InvalidationChannel | None = None,
        invalidation_channel_props: InvalidationChannelProps | None = None,
        lambda_interface_endpoint: bool | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self._wheelhouse = check_wheelhouse("wheelhouse", wheelhouse)
        timeout = timeout or Duration.seconds(10)
        _validate(
            table=table,
            removal_policy=removal_policy,
            deletion_protection=deletion_protection,
            table_encryption_key=table_encryption_key,
            log_removal_policy=log_removal_policy,
            memory_size_mb=memory_size_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrent_executions,
            metrics_namespace=metrics_namespace,
            item_policy=item_policy,
            list_policy=list_policy,
            rest_api_props=rest_api_props,
            valkey_cache=valkey_cache,
            valkey_cache_props=valkey_cache_props,
            enable_dax=enable_dax,
            dax_cache_props=dax_cache_props,
        )
        _validate_push(
            push_invalidation=push_invalidation,
            invalidation_channel=invalidation_channel,
            invalidation_channel_props=invalidation_channel_props,
            lambda_interface_endpoint=lambda_interface_endpoint,
        )
        self.vpc = vpc
        self.vpc_subnets = vpc_subnets or _default_subnets(vpc)
        self.log_retention = log_retention
        self.removal_policy = removal_policy or RemovalPolicy.RETAIN
        self.log_settings = LogGroupSettings(
            retention=log_retention,
            removal_policy=log_removal_policy or self.removal_policy,
            encryption_key=log_encryption_key,
        )
        """Retention, removal policy and key of the log groups built here (and by the API)."""
        self.metrics_namespace = metrics_namespace

        #: The product table (source of truth): the one given, or one built here.
        self.table: dynamodb.ITable = table or self._build_table(
            removal_policy=self.removal_policy,
            deletion_protection=(
                deletion_protection
                if deletion_protection is not None
                else self.removal_policy != RemovalPolicy.DESTROY
            ),
            encryption_key=table_encryption_key,
        )
        if table is not None:
            _check_table(table)
        #: The VPC's DynamoDB gateway endpoint (shared; None when the VPC routes otherwise).
        self.dynamodb_endpoint = dynamodb_network.dynamodb_gateway_endpoint(
            vpc, wanted=dynamodb_gateway_endpoint, subnets=self.vpc_subnets
        )
        #: The id of the region's DynamoDB prefix list (what function egress is opened to).
        self.dynamodb_prefix_list_id = dynamodb_network.dynamodb_prefix_list_id(
            self, self.log_settings
        )
        #: The REST API (the routes are added below).
        self.rest_api = self._build_rest_api(rest_api_props or CachedRestApiProps())
        #: The routes as served: the API layer kept only where the stage cache serves them.
        stage_cache = self.rest_api.stage_cache_enabled
        self.item_route = dataclasses.replace(
            GET_PRODUCT, api_cache=cache_item_route_at_api and stage_cache
        )
        self.list_route = dataclasses.replace(
            LIST_PRODUCTS, api_cache=LIST_PRODUCTS.api_cache and stage_cache
        )
        #: The policies the read and list routes run with.
        self.item_policy = policy_for_route(self.item_route, item_policy)
        self.list_policy = policy_for_route(self.list_route, list_policy)
        if enable_dax and "dax" not in self.item_policy.layers:
            raise ValueError(
                f"item_policy {self.item_policy.name!r} does not use the 'dax' layer: give a "
                "policy with a DAX TTL, or enable_dax=False"
            )

        #: ``GET /products/{id}``.
        self.read_function = self._build_function(
            "ReadFunction",
            READ_HANDLER,
            description="Product item reads through L1, L2 (Valkey), DAX and DynamoDB",
            memory_size_mb=memory_size_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrent_executions,
        )
        #: ``GET /products`` (by category).
        self.list_function = self._build_function(
            "ListFunction",
            LIST_HANDLER,
            description="Product lists by category through L1, L2 (Valkey) and the GSI",
            memory_size_mb=memory_size_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrent_executions,
        )
        #: ``POST /products``, ``PUT /products/{id}``, ``DELETE /products/{id}``.
        self.write_function = self._build_function(
            "WriteFunction",
            WRITE_HANDLER,
            description="Product writes (conditional) with cache write-through",
            memory_size_mb=memory_size_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrent_executions,
        )
        #: The stream-driven cache invalidation function.
        self.invalidation_function = self._build_function(
            "InvalidationFunction",
            STREAM_HANDLER,
            description="Invalidates the L2 cache from the product table's stream",
            memory_size_mb=256,
            # Its Redis retry window is this minus a margin (contract.stream).
            timeout=Duration.seconds(INVALIDATION_FUNCTION_TIMEOUT_SECONDS),
            reserved_concurrent_executions=None,
        )
        for function in (self.read_function, self.list_function, self.write_function):
            skip_checkov(function, "CKV_AWS_116", _API_DLQ_REASON)
            if reserved_concurrent_executions is None:
                skip_checkov(function, "CKV_AWS_115", _UNRESERVED_REASON)
        skip_checkov(self.invalidation_function, "CKV_AWS_116", _STREAM_DLQ_REASON)
        skip_checkov(self.invalidation_function, "CKV_AWS_115", _STREAM_CONCURRENCY_REASON)
        self._grant_table_access()
        #: The L2 cache: the one given, or a serverless cache / replication group built here.
        self.valkey_cache: IValkeyCache = valkey_cache or self._build_valkey_cache(
            valkey_cache_props or ServerlessValkeyCacheProps()
        )
        #: The DAX cluster in front of the table (None when ``enable_dax`` is False).
        self.dax_cache = (
            self._build_dax_cache(dax_cache_props or DaxCacheProps()) if enable_dax else None
        )
        self._grant_cache_access()
        #: API Gateway methods by ``"<METHOD> <path>"``.
        self.methods = self._add_routes()
        #: Errors API Gateway answers itself, in the API's JSON error shape.
        self.gateway_responses = self._add_gateway_responses()
        #: The handlers' EMF metrics (L1/L2 hits, latencies, ...) for dashboards and alarms.
        self.service_metrics = ServiceMetrics(namespace=metrics_namespace)
        #: The stream event source, its dead-letter queue and their metrics.
        self.stream_invalidator = self._build_stream_invalidator()
        #: The push channel to clients (None: ``push_invalidation=False``).
        self.invalidation_channel: InvalidationChannel | None = None
        #: The VPC's Lambda interface endpoint the handover goes through (None: no push, or
        #: the VPC reaches the Lambda API otherwise).
        self.lambda_endpoint: ec2.InterfaceVpcEndpoint | None = None
        if push_invalidation:
            self.invalidation_channel = invalidation_channel or self._build_invalidation_channel(
                invalidation_channel_props or InvalidationChannelProps()
            )
            self.lambda_endpoint = lambda_network.lambda_interface_endpoint(
                vpc, wanted=lambda_interface_endpoint, subnets=self.vpc_subnets
            )
            self.invalidation_channel.grant_handover(
                self.invalidation_function, endpoint=self.lambda_endpoint
            )

    # -- public helpers ----------------------------------------------------------------

    @property
    def functions(self) -> tuple[lambda_.Function, ...]:
        """Every function of the service: read, list, write, invalidation."""
        return (
            self.read_function,
            self.list_function,
            self.write_function,
            self.invalidation_function,
        )

    @property
    def category_index_arn(self) -> str:
        """ARN of the category GSI (what the list function may Query)."""
        return f"{self.table.table_arn}/index/{schema.CATEGORY_INDEX_NAME}"

    @property
    def metric_sources(self) -> MetricSources:
        """What `CacheDashboard` and `CacheAlarms` watch: the whole service, part by part.

        An L2 cache without metrics (an `ImportedValkeyCache`) is left out; the push
        channel's publisher function is watched with the service's functions.
        """
        valkey = self.valkey_cache
        channel = self.invalidation_channel
        publisher = channel.publisher_function if channel is not None else None
        return MetricSources(
            api=self.rest_api,
            service_metrics=self.service_metrics,
            valkey=valkey if isinstance(valkey, _HasValkeyMetrics) else None,
            dax=self.dax_cache,
            stream=self.stream_invalidator,
            functions=(*self.functions, *([publisher] if publisher is not None else [])),
            table=self.table,
            push=channel,
        )

    # -- overridable parts -------------------------------------------------------------

    def _build_table(
        self,
        *,
        removal_policy: RemovalPolicy,
        deletion_protection: bool,
        encryption_key: kms.IKey | None,
    ) -> dynamodb.Table:
        """The product table: schema from ``table_schema``, on-demand, stream on."""
        table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=schema.PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=schema.SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType(schema.STREAM_VIEW_TYPE),
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if encryption_key
                else dynamodb.TableEncryption.AWS_MANAGED
            ),
            encryption_key=encryption_key,
            deletion_protection=deletion_protection,
            removal_policy=removal_policy,
        )
        if encryption_key is None:
            skip_checkov(
                table,
                "CKV_AWS_119",
                "encrypted at rest with the AWS-managed key (alias/aws/dynamodb); pass "
                "table_encryption_key for a customer-managed key",
            )
        table.add_global_secondary_index(
            index_name=schema.CATEGORY_INDEX_NAME,
            partition_key=dynamodb.Attribute(
                name=schema.CATEGORY_INDEX_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(
                name=schema.CATEGORY_INDEX_SORT_KEY, type=dynamodb.AttributeType.STRING
            ),
            projection_type=dynamodb.ProjectionType(schema.CATEGORY_INDEX_PROJECTION),
        )
        return table

    def _build_function(
        self,
        id_: str,
        handler: str,
        *,
        description: str,
        memory_size_mb: int,
        timeout: Duration,
        reserved_concurrent_executions: int | None,
    ) -> lambda_.Function:
        """One function: shared asset, own security group, own log group, X-Ray on.

        Every function gets both cache policies: the item cache and the list cache each
        read and invalidate by their own (a write bumps lists by the list policy).
        """
        security_group = ec2.SecurityGroup(
            self,
            f"{id_}SecurityGroup",
            vpc=self.vpc,
            description=f"{id_} of {self.node.path}",
            allow_all_outbound=False,
        )
        # HTTPS to DynamoDB's addresses only (its prefix list: through the gateway endpoint,
        # or NAT where there is one); the cache grants open their own ports. Logs, EMF metrics
        # and traces leave through the Lambda service, not this network (docs/constructs.md).
        security_group.add_egress_rule(
            ec2.Peer.prefix_list(self.dynamodb_prefix_list_id),
            ec2.Port.tcp(443),
            "HTTPS to DynamoDB (its managed prefix list)",
        )
        log_group = self._build_log_group(f"{id_}Logs")
        environment = {
            **env_names.service_env(
                self.table.table_name, metrics_namespace=self.metrics_namespace
            ),
            **env_names.policy_env(item_policy=self.item_policy, list_policy=self.list_policy),
        }
        function = lambda_.Function(
            self,
            id_,
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=handler,
            code=ProductServiceCode.of(self, wheelhouse=self._wheelhouse),
            description=description,
            memory_size=memory_size_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrent_executions,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment=environment,
            vpc=self.vpc,
            vpc_subnets=self.vpc_subnets,
            security_groups=[security_group],
        )
        self._acknowledge_function_role(function)
        skip_checkov(function, "CKV_AWS_173", _ENV_REASON)
        return function

    def _build_log_group(self, id_: str) -> logs.LogGroup:
        """A function log group with the service's retention, removal policy and key."""
        settings = self.log_settings
        return build_log_group(
            self,
            id_,
            retention=settings.retention or logs.RetentionDays.ONE_MONTH,
            removal_policy=settings.removal_policy or RemovalPolicy.RETAIN,
            encryption_key=settings.encryption_key,
        )

    def _grant_table_access(self) -> None:
        """Least privilege per function (the stream grant comes with the StreamInvalidator)."""
        self.read_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem"],
                resources=[self.table.table_arn],
            )
        )
        self.list_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[self.category_index_arn],
            )
        )
        self.write_function.add_to_role_policy(
            iam.PolicyStatement(
                # ConditionCheckItem: a create's transaction checks the deletion marker.
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:ConditionCheckItem",
                ],
                resources=[self.table.table_arn],
            )
        )
        # A TTL expiry runs no delete transaction: the invalidation function raises the
        # product's deletion marker and renumbers a product re-created meanwhile.
        self.invalidation_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:UpdateItem"],
                resources=[self.table.table_arn],
            )
        )
        if self.table.encryption_key is not None:
            for function in (self.read_function, self.list_function):
                self.table.encryption_key.grant_decrypt(function)
            for function in (self.write_function, self.invalidation_function):
                self.table.encryption_key.grant_encrypt_decrypt(function)

    def _build_rest_api(self, props: CachedRestApiProps) -> CachedRestApi:
        """The REST API (routes are added afterwards); its log groups default to ours."""
        return CachedRestApi(self, "Api", props=props, log_defaults=self.log_settings)

    def _build_stream_invalidator(self) -> StreamInvalidator:
        """The table's stream feeding ``invalidation_function``, with its dead-letter queue."""
        return StreamInvalidator(
            self,
            "StreamInvalidator",
            table=self.table,
            function=self.invalidation_function,
            partition_key_name=schema.PARTITION_KEY,
            partition_key_prefix=schema.ITEM_PK_PREFIX,
        )

    def _build_invalidation_channel(self, props: InvalidationChannelProps) -> InvalidationChannel:
        """The push channel (AppSync Events) and its publisher function, logging like ours.

        The publisher runs the shared asset (it holds ``cache_constructs.handlers``) and
        publishes its EMF metrics with the service's namespace and dimension.
        """
        return InvalidationChannel(
            self,
            "InvalidationChannel",
            publisher_code=ProductServiceCode.of(self, wheelhouse=self._wheelhouse),
            publisher_metrics=self.service_metrics,
            log_defaults=self.log_settings,
            props=props,
        )

    def _build_valkey_cache(self, props: ValkeyCacheBuildProps) -> IValkeyCache:
        """The L2 cache in the functions' subnets: the props' type picks the variant."""
        if isinstance(props, ReplicatedValkeyCacheProps):
            return ReplicatedValkeyCache(
                self, "ValkeyCache", vpc=self.vpc, vpc_subnets=self.vpc_subnets, props=props
            )
        return ServerlessValkeyCache(
            self, "ValkeyCache", vpc=self.vpc, vpc_subnets=self.vpc_subnets, props=props
        )

    def _build_dax_cache(self, props: DaxCacheProps) -> DaxCache:
        """The DAX cluster for item reads; it serves the item policy's reads."""
        return DaxCache(
            self,
            "DaxCache",
            vpc=self.vpc,
            vpc_subnets=self.vpc_subnets,
            table=self.table,
            cache_policy=self.item_policy,
            props=props,
        )

    def _grant_cache_access(self) -> None:
        """Valkey for every function; DAX reads for the reader, DAX writes for the writer.

        The list function never goes through DAX: its query cache ignores writes.
        """
        for function in self.functions:
            self.valkey_cache.grant_connect(function)
        if self.dax_cache is not None:
            self.dax_cache.grant_read(self.read_function)
            self.dax_cache.grant_write(self.write_function)
            # A create's transaction (through DAX) checks the deletion marker.
            self.write_function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["dax:ConditionCheckItem"], resources=[self.dax_cache.cluster_arn]
                )
            )

    def _add_routes(self) -> dict[str, apigateway.Method]:
        """Every route of ``product_routes`` on the API, served by its function."""
        products = self.rest_api.root.add_resource(COLLECTION_PATH.strip("/"))
        resources = {
            COLLECTION_PATH: products,
            ITEM_PATH: products.add_resource(ITEM_PATH.rsplit("/", 1)[1]),
        }
        functions = {
            "read": self.read_function,
            "list": self.list_function,
            "write": self.write_function,
        }
        served = {GET_PRODUCT: self.item_route, LIST_PRODUCTS: self.list_route}
        policies = {GET_PRODUCT.path: self.item_policy, LIST_PRODUCTS.path: self.list_policy}
        methods: dict[str, apigateway.Method] = {}
        for route in PRODUCT_ROUTES:
            route = served.get(route, route)
            integration = apigateway.LambdaIntegration(functions[route.function])
            resource = resources[route.path]
            if route.policy_name is not None:
                method = self.rest_api.add_cached_route(
                    resource,
                    route.method,
                    integration,
                    policy=policies[route.path],
                    # Keys only where the stage cache serves the route (else none apply).
                    cache_key_parameters=route.cache_key_parameters if route.api_cache else (),
                    request_parameters=route.request_parameters,
                    authorization_type=_authorization(route),
                )
            else:
                method = self.rest_api.add_route(
                    resource,
                    route.method,
                    integration,
                    request_parameters=route.request_parameters,
                    authorization_type=_authorization(route),
                )
            methods[f"{route.method} {route.path}"] = method
        return methods

    def _add_gateway_responses(self) -> list[apigateway.GatewayResponse]:
        """Requests API Gateway rejects (validator, size, media type) answer like the handlers:
        ``{"error": "<code>", "message": "<text naming the field>"}``."""
        responses = []
        for type_, status, code in _GATEWAY_ERRORS:
            # messageString comes quoted; the validation string does not (and may hold quotes).
            message = '"$util.escapeJavaScript($context.error.validationErrorString)"'
            if type_.response_type not in _VALIDATION_ERRORS:
                message = "$context.error.messageString"
            responses.append(
                self.rest_api.api.add_gateway_response(
                    f"GatewayResponse{type_.response_type}",
                    type=type_,
                    status_code=status,
                    response_headers={"Content-Type": "'application/json'"},
                    templates={"application/json": f'{{"error": "{code}", "message": {message}}}'},
                )
            )
        return responses

    def _acknowledge_function_role(self, function: lambda_.Function) -> None:
        """Explain the findings every VPC function with X-Ray tracing has."""
        acknowledge_function_role(function, in_vpc=True)


@runtime_checkable
class _HasValkeyMetrics(ValkeyMetricsSource, Protocol):
    """A cache that offers the Valkey metrics (the built variants do, an import does not)."""


def _authorization(route: ProductRoute) -> apigateway.AuthorizationType:
    if route.authorization == "iam":
        return apigateway.AuthorizationType.IAM
    return apigateway.AuthorizationType.NONE


def _default_subnets(vpc: ec2.IVpc) -> ec2.SubnetSelection:
    if vpc.isolated_subnets:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


def _check_table(table: dynamodb.ITable) -> None:
    """What can be checked of a given table at synth time (the rest is in the docs)."""
    if table.table_stream_arn is None:
        raise ValueError(
            "table must bring its stream ARN: import it with "
            "Table.from_table_attributes(..., table_stream_arn=...) (stream view "
            f"{schema.STREAM_VIEW_TYPE}); the invalidation function reads that stream"
        )
    if not isinstance(table, dynamodb.Table):
        return  # imported: its schema is the caller's promise (docs/constructs.md)
    keys = table.schema_v2()
    found = (
        [k.name for k in keys.partition_keys],
        [k.name for k in keys.sort_keys or []],
    )
    if found != ([schema.PARTITION_KEY], [schema.SORT_KEY]):
        raise ValueError(
            f"table must have partition key {schema.PARTITION_KEY!r} and sort key "
            f"{schema.SORT_KEY!r} (strings); got {found[0]} and {found[1]}"
        )
    try:
        index = table.schema_v2(schema.CATEGORY_INDEX_NAME)
    except RuntimeError:
        raise ValueError(
            f"table must have the global secondary index {schema.CATEGORY_INDEX_NAME!r} "
            f"(partition {schema.CATEGORY_INDEX_PARTITION_KEY!r}, sort "
            f"{schema.CATEGORY_INDEX_SORT_KEY!r}, projection ALL)"
        ) from None
    index_keys = (
        [k.name for k in index.partition_keys],
        [k.name for k in index.sort_keys or []],
    )
    wanted = ([schema.CATEGORY_INDEX_PARTITION_KEY], [schema.CATEGORY_INDEX_SORT_KEY])
    if index_keys != wanted:
        raise ValueError(
            f"table's index {schema.CATEGORY_INDEX_NAME!r} must be keyed by {wanted}; "
            f"got {index_keys}"
        )
    cfn = table.node.default_child
    if isinstance(cfn, dynamodb.CfnTable):
        spec = Stack.of(table).resolve(cfn.stream_specification) or {}
        view = spec.get("streamViewType") if isinstance(spec, dict) else None
        if view is not None and view != schema.STREAM_VIEW_TYPE:
            raise ValueError(
                f"table's stream must be {schema.STREAM_VIEW_TYPE} (invalidation needs the "
                f"old and the new version); got {view}"
            )


def _validate_push(
    *,
    push_invalidation: bool,
    invalidation_channel: InvalidationChannel | None,
    invalidation_channel_props: InvalidationChannelProps | None,
    lambda_interface_endpoint: bool | None,
) -> None:
    require_not_both(
        "invalidation_channel",
        invalidation_channel,
        "invalidation_channel_props",
        invalidation_channel_props,
    )
    require_instance("invalidation_channel", invalidation_channel, InvalidationChannel)
    require_instance(
        "invalidation_channel_props", invalidation_channel_props, InvalidationChannelProps
    )
    if not push_invalidation:
        given = [
            name
            for name, value in (
                ("invalidation_channel", invalidation_channel),
                ("invalidation_channel_props", invalidation_channel_props),
                ("lambda_interface_endpoint", lambda_interface_endpoint),
            )
            if value is not None
        ]
        if given:
            raise ValueError(
                f"push_invalidation=False builds no push path: drop {', '.join(given)}"
            )
    if invalidation_channel is not None and invalidation_channel.publisher_function is None:
        raise ValueError(
            "invalidation_channel has no publisher function: build it with publisher_code "
            "(e.g. ProductServiceCode.of(scope)), the handover needs one"
        )


def _validate(
    *,
    table: dynamodb.ITable | None,
    removal_policy: RemovalPolicy | None,
    deletion_protection: bool | None,
    table_encryption_key: kms.IKey | None,
    log_removal_policy: RemovalPolicy | None,
    memory_size_mb: int,
    timeout: Duration,
    reserved_concurrent_executions: int | None,
    metrics_namespace: str,
    item_policy: CachePolicy | None,
    list_policy: CachePolicy | None,
    rest_api_props: CachedRestApiProps | None,
    valkey_cache: IValkeyCache | None,
    valkey_cache_props: ValkeyCacheBuildProps | None,
    enable_dax: bool,
    dax_cache_props: DaxCacheProps | None,
) -> None:
    require_not_both("table", table, "removal_policy", removal_policy)
    require_not_both("table", table, "deletion_protection", deletion_protection)
    require_not_both("table", table, "table_encryption_key", table_encryption_key)
    require_not_both("valkey_cache", valkey_cache, "valkey_cache_props", valkey_cache_props)
    if dax_cache_props is not None and not enable_dax:
        raise ValueError("dax_cache_props must not be given when enable_dax is False")
    if removal_policy is not None and removal_policy not in LOG_REMOVAL_POLICIES:
        raise ValueError(
            "removal_policy must be RemovalPolicy.RETAIN or RemovalPolicy.DESTROY "
            f"(DynamoDB tables take no snapshot); got {removal_policy}"
        )
    if log_removal_policy is not None:
        require_one_of("log_removal_policy", log_removal_policy, LOG_REMOVAL_POLICIES)
    require_instance("item_policy", item_policy, CachePolicy, _POLICY_HINT)
    require_instance("list_policy", list_policy, CachePolicy, _POLICY_HINT)
    require_instance("rest_api_props", rest_api_props, CachedRestApiProps)
    require_instance(
        "valkey_cache_props",
        valkey_cache_props,
        (ServerlessValkeyCacheProps, ReplicatedValkeyCacheProps),
    )
    require_instance("dax_cache_props", dax_cache_props, DaxCacheProps)
    if valkey_cache is not None and not isinstance(valkey_cache, IValkeyCache):
        raise ValueError(
            "valkey_cache must be an IValkeyCache (ServerlessValkeyCache, "
            f"ReplicatedValkeyCache or ImportedValkeyCache); got {type(valkey_cache).__name__}"
        )
    require_int_range("memory_size_mb", memory_size_mb, 128, 10240)
    if not is_unresolved(timeout.to_seconds()) and not 1 <= timeout.to_seconds() <= 29:
        raise ValueError(
            "timeout must be between 1 and 29 seconds (API Gateway's integration limit); "
            f"got {timeout.to_seconds()} s"
        )
    if reserved_concurrent_executions is not None:
        require_int_range("reserved_concurrent_executions", reserved_concurrent_executions, 1)
    if not metrics_namespace:
        raise ValueError("metrics_namespace must be a non-empty string")


__all__ = ["CachedProductService"]
