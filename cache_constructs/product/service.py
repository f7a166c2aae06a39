"""CachedProductService: the product table, its four functions and every cache layer, wired.

What it builds (docs/architecture.md):

- the DynamoDB table (keys, category index, stream, TTL attribute from
  ``product_table_schema``), encrypted, point-in-time recovery on;
- the read, list, write and invalidation functions (Python 3.14, arm64, X-Ray, Powertools,
  one shared asset from ``lambda_code``), each in the VPC's private subnets with a security
  group of its own and a log group with a retention;
- the L2 cache (``ValkeyCache``, serverless or a replication group), optionally a DAX cluster
  (``DaxCache``) for item reads;
- the REST API (``CachedRestApi``) with the routes of ``product_routes``: the list route is
  cached at API Gateway keyed by its query parameters, the item route is not (by default);
- the ``StreamInvalidator`` that feeds the table's stream to the invalidation function.

Every function gets only what it needs: read GetItem (+ DAX read), list Query on the category
index, write conditional Put/Delete/ConditionCheck and GetItem (+ DAX write), invalidation
stream read, the dead-letter queue and Put/Update (a TTL-expired product's deletion marker).
DynamoDB is reached through a VPC gateway endpoint, so no NAT is needed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cache_constructs._validation import is_unresolved, require_int_range
from cache_constructs.bundling import check_wheelhouse
from cache_constructs.cached_rest_api import CachedRestApi
from cache_constructs.contract import environment as env_names
from cache_constructs.contract.metrics import DEFAULT_METRICS_NAMESPACE
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.contract.stream import INVALIDATION_FUNCTION_TIMEOUT_SECONDS
from cache_constructs.dax_cache import DaxCache
from cache_constructs.invalidation_channel import InvalidationChannel
from cache_constructs.metric_sources import ServiceMetrics
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
from cache_constructs.valkey_cache import ValkeyCache

_VALIDATION_ERRORS = ("BAD_REQUEST_PARAMETERS", "BAD_REQUEST_BODY")
#: API Gateway response type -> status and the error code of docs/architecture.md.
_GATEWAY_ERRORS = (
    (apigateway.ResponseType.BAD_REQUEST_PARAMETERS, "400", "bad_request"),
    (apigateway.ResponseType.BAD_REQUEST_BODY, "400", "bad_request"),
    (apigateway.ResponseType.REQUEST_TOO_LARGE, "413", "payload_too_large"),
    (apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE, "415", "unsupported_media_type"),
)

_REMOVAL_POLICIES = (RemovalPolicy.RETAIN, RemovalPolicy.SNAPSHOT, RemovalPolicy.DESTROY)


class CachedProductService(Construct):
    """The product service: table, functions, caches, API and stream invalidation.

    :param scope: parent construct.
    :param id_: construct id.
    :param vpc: the VPC of the functions and caches.
    :param vpc_subnets: where the functions and caches go. Default: the VPC's private
        isolated subnets (private with egress when the VPC has no isolated ones).
    :param dynamodb_gateway_endpoint: add a DynamoDB gateway endpoint to ``vpc``. Default
        (None): added unless the VPC is a construct of this app that already has one; pass
        False for an imported VPC that has one (a route table takes one per service).
    :param removal_policy: what happens to the table, the functions' log groups and the API's
        access log group when they leave the stack: ``RETAIN`` (default), ``DESTROY``
        (``SNAPSHOT`` is not supported by DynamoDB). ``rest_api_props`` may set the API's
        ``log_removal_policy`` apart.
    :param deletion_protection: the table's deletion protection. Default: on unless
        ``removal_policy`` is ``DESTROY``.
    :param table_encryption_key: a customer-managed KMS key for the table. Default: the
        AWS-managed key.
    :param log_retention: retention of the functions' log groups. Default one month.
    :param memory_size_mb: memory of the read, list and write functions, 128..10240.
        Default 512.
    :param timeout: timeout of the read, list and write functions, 1..29 s (API Gateway's
        integration limit). Default 10 s.
    :param reserved_concurrent_executions: reserved concurrency of each API function.
        Default: none (unreserved).
    :param item_policy: cache policy of ``GET /products/{id}``. Default ``semi-static``.
    :param list_policy: cache policy of ``GET /products``. Default ``dynamic``.
    :param cache_item_route_at_api: also cache ``GET /products/{id}`` in the API Gateway
        stage cache (for the item policy's API TTL). Default False: the stage cache cannot be
        invalidated by writes, so it would add its TTL to the item route's staleness.
    :param rest_api_props: keyword props of the ``CachedRestApi`` (``stage_name``,
        ``cache_cluster_size``, ``throttling_rate_limit``, ...). Default: its defaults.
    :param metrics_namespace: ``POWERTOOLS_METRICS_NAMESPACE``. Default
        ``"CachedProductService"``.
    :param valkey_cache_props: keyword props of the ``ValkeyCache`` (``mode``,
        ``node_type``, ``replicas_per_shard``, ...; not ``vpc``/``vpc_subnets``). Default:
        a serverless Valkey cache.
    :param enable_dax: put a DAX cluster in front of the table for item reads. Default True.
    :param dax_cache_props: keyword props of the ``DaxCache`` (``replication_factor``,
        ``node_type``, ...; not ``vpc``/``vpc_subnets``/``table``). Default: three
        ``dax.t3.small`` nodes with the item policy's DAX TTL. Not allowed without DAX.
    :param wheelhouse: a directory of wheels (Python 3.14, manylinux2014_aarch64) to bundle
        the functions' requirements from, offline. Default: ``$CACHE_CONSTRUCTS_WHEELHOUSE``,
        else the package index (``cache_constructs.bundling``).
    :param push_invalidation: create an ``InvalidationChannel`` and have the invalidation
        function publish every change to it. Default False. The channel's HTTP endpoint is
        public: the functions' subnets need a route to it (NAT). Not with
        ``invalidation_channel``.
    :param invalidation_channel: an existing ``InvalidationChannel`` to publish to instead.
        Default none.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None = None,
        dynamodb_gateway_endpoint: bool | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        deletion_protection: bool | None = None,
        table_encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        memory_size_mb: int = 512,
        timeout: Duration | None = None,
        reserved_concurrent_executions: int | None = None,
        item_policy: CachePolicy | None = None,
        list_policy: CachePolicy | None = None,
        cache_item_route_at_api: bool = False,
        rest_api_props: Mapping[str, Any] | None = None,
        metrics_namespace: str = DEFAULT_METRICS_NAMESPACE,
        valkey_cache_props: Mapping[str, Any] | None = None,
        enable_dax: bool = True,
        dax_cache_props: Mapping[str, Any] | None = None,
        wheelhouse: str | Path | None = None,
        push_invalidation: bool = False,
        invalidation_channel: InvalidationChannel | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self._wheelhouse = check_wheelhouse("wheelhouse", wheelhouse)
        timeout = timeout or Duration.seconds(10)
        _validate(
            removal_policy=removal_policy,
            memory_size_mb=memory_size_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrent_executions,
            metrics_namespace=metrics_namespace,
        )
        if dax_cache_props is not None and not enable_dax:
            raise ValueError("dax_cache_props must not be given when enable_dax is False")
        if push_invalidation and invalidation_channel is not None:
            raise ValueError("give either push_invalidation=True or invalidation_channel, not both")
        for prop, props, owned in (
            ("valkey_cache_props", valkey_cache_props, ("vpc", "vpc_subnets")),
            ("dax_cache_props", dax_cache_props, ("vpc", "vpc_subnets", "table")),
        ):
            clash = sorted(set(props or {}) & set(owned))
            if clash:
                raise ValueError(f"{prop} must not set {clash}: CachedProductService sets them")
        self.vpc = vpc
        self.vpc_subnets = vpc_subnets or _default_subnets(vpc)
        self.log_retention = log_retention
        self.removal_policy = removal_policy
        self.metrics_namespace = metrics_namespace
        #: The policies the read and list routes run with (API layer dropped where uncached).
        self.item_route = dataclasses.replace(GET_PRODUCT, api_cache=cache_item_route_at_api)
        self.item_policy = policy_for_route(self.item_route, item_policy)
        self.list_policy = policy_for_route(LIST_PRODUCTS, list_policy)

        #: The DynamoDB gateway endpoint this construct added (None when the VPC had one).
        self.dynamodb_endpoint = self._build_dynamodb_endpoint(dynamodb_gateway_endpoint)
        #: The product table (source of truth).
        self.table = self._build_table(
            removal_policy=removal_policy,
            deletion_protection=(
                deletion_protection
                if deletion_protection is not None
                else removal_policy != RemovalPolicy.DESTROY
            ),
            encryption_key=table_encryption_key,
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
        self._grant_table_access()
        #: The L2 cache (serverless Valkey or a replication group).
        self.valkey_cache = self._build_valkey_cache(valkey_cache_props or {})
        #: The DAX cluster in front of the table (None when ``enable_dax`` is False).
        self.dax_cache = self._build_dax_cache(dax_cache_props or {}) if enable_dax else None
        self._grant_cache_access()
        #: The REST API with every route of ``product_routes``.
        self.rest_api = self._build_rest_api(
            {"log_removal_policy": removal_policy, **(rest_api_props or {})}
        )
        #: API Gateway methods by ``"<METHOD> <path>"``.
        self.methods = self._add_routes()
        #: Errors API Gateway answers itself, in the API's JSON error shape.
        self.gateway_responses = self._add_gateway_responses()
        #: The handlers' EMF metrics (L1/L2 hits, latencies, ...) for dashboards and alarms.
        self.service_metrics = ServiceMetrics(namespace=metrics_namespace)
        #: The stream event source, its dead-letter queue and their metrics.
        self.stream_invalidator = self._build_stream_invalidator()
        #: Where the invalidation function publishes each change (None: no push).
        self.invalidation_channel = invalidation_channel or (
            self._build_invalidation_channel() if push_invalidation else None
        )
        if self.invalidation_channel is not None:
            self.invalidation_channel.grant_publish(self.invalidation_function)

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

    # -- overridable parts -------------------------------------------------------------

    def _build_dynamodb_endpoint(self, wanted: bool | None) -> ec2.GatewayVpcEndpoint | None:
        """A DynamoDB gateway endpoint on the subnets of the functions, unless one exists."""
        if wanted is False or (wanted is None and _has_dynamodb_gateway_endpoint(self.vpc)):
            return None
        return ec2.GatewayVpcEndpoint(
            self,
            "DynamoDbEndpoint",
            vpc=self.vpc,
            service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
            subnets=[self.vpc_subnets],
        )

    def _build_table(
        self,
        *,
        removal_policy: RemovalPolicy,
        deletion_protection: bool,
        encryption_key: kms.IKey | None,
    ) -> dynamodb.Table:
        """The product table: schema from ``product_table_schema``, on-demand, stream on."""
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
        # DynamoDB (through the gateway endpoint's prefix-list route) and AWS APIs over HTTPS;
        # cache ports are opened by ValkeyCache/DaxCache grants. Without NAT nothing else leaves.
        security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to DynamoDB via the gateway endpoint"
        )
        log_group = logs.LogGroup(
            self,
            f"{id_}Logs",
            retention=self.log_retention,
            removal_policy=self.removal_policy,
        )
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
        return function

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

    def _build_rest_api(self, props: Mapping[str, Any]) -> CachedRestApi:
        """The REST API (routes are added afterwards); ``props`` are ``rest_api_props``."""
        return CachedRestApi(self, "Api", **props)

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

    def _build_invalidation_channel(self) -> InvalidationChannel:
        """The push channel (AppSync Events), logging like the functions."""
        return InvalidationChannel(
            self,
            "InvalidationChannel",
            log_retention=self.log_retention,
            removal_policy=self.removal_policy,
        )

    def _build_valkey_cache(self, props: Mapping[str, Any]) -> ValkeyCache:
        """The L2 cache in the functions' subnets."""
        return ValkeyCache(self, "ValkeyCache", vpc=self.vpc, vpc_subnets=self.vpc_subnets, **props)

    def _build_dax_cache(self, props: Mapping[str, Any]) -> DaxCache:
        """The DAX cluster for item reads; its TTLs come from the item policy."""
        options: dict[str, Any] = {"cache_policy": self.item_policy, **props}
        if "parameter_group_name" in props:
            options.pop("cache_policy")
        return DaxCache(
            self,
            "DaxCache",
            vpc=self.vpc,
            vpc_subnets=self.vpc_subnets,
            table=self.table,
            **options,
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
        policies = {GET_PRODUCT.path: self.item_policy, LIST_PRODUCTS.path: self.list_policy}
        methods: dict[str, apigateway.Method] = {}
        for route in PRODUCT_ROUTES:
            if route == GET_PRODUCT:
                route = self.item_route
            integration = apigateway.LambdaIntegration(functions[route.function])
            resource = resources[route.path]
            if route.policy_name is not None:
                method = self.rest_api.add_cached_route(
                    resource,
                    route.method,
                    integration,
                    policy=policies[route.path],
                    cache_key_parameters=_query_cache_keys(route),
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
        """Explain the two findings every VPC function with X-Ray tracing has."""
        role = function.role
        if role is None:
            return
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=(
                    "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:"
                    "policy/service-role/AWSLambdaBasicExecutionRole]"
                ),
                reason=(
                    "AWSLambdaBasicExecutionRole only allows writing the function's own "
                    "CloudWatch logs; AWS keeps it current for the Lambda service."
                ),
            ),
            Acknowledgment(
                id=(
                    "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:"
                    "policy/service-role/AWSLambdaVPCAccessExecutionRole]"
                ),
                reason=(
                    "AWSLambdaVPCAccessExecutionRole is the minimal policy Lambda needs to "
                    "manage the function's VPC network interfaces."
                ),
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "X-Ray active tracing needs xray:PutTraceSegments and "
                    "xray:PutTelemetryRecords, which have no resource-level permissions."
                ),
            ),
        )


def _query_cache_keys(route: ProductRoute) -> list[str]:
    return [
        key for key in route.cache_key_parameters if key.startswith("method.request.querystring.")
    ]


def _authorization(route: ProductRoute) -> apigateway.AuthorizationType:
    if route.authorization == "iam":
        return apigateway.AuthorizationType.IAM
    return apigateway.AuthorizationType.NONE


def _default_subnets(vpc: ec2.IVpc) -> ec2.SubnetSelection:
    if vpc.isolated_subnets:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


def _has_dynamodb_gateway_endpoint(vpc: ec2.IVpc) -> bool:
    """True when ``vpc`` (a construct of this app) already has a DynamoDB gateway endpoint."""
    for child in vpc.node.find_all():
        if isinstance(child, ec2.CfnVPCEndpoint) and child.vpc_endpoint_type in (
            None,
            "Gateway",
        ):
            service = child.service_name
            if isinstance(service, str) and ".dynamodb" in service:
                return True
    return False


def _validate(
    *,
    removal_policy: RemovalPolicy,
    memory_size_mb: int,
    timeout: Duration,
    reserved_concurrent_executions: int | None,
    metrics_namespace: str,
) -> None:
    if removal_policy not in _REMOVAL_POLICIES or removal_policy == RemovalPolicy.SNAPSHOT:
        raise ValueError(
            "removal_policy must be RemovalPolicy.RETAIN or RemovalPolicy.DESTROY "
            f"(DynamoDB tables take no snapshot); got {removal_policy}"
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
