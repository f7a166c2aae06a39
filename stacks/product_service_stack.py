"""ProductServiceStack: composition only (VPC, the service, the storefront site, dashboard,
alarms, outputs)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, Aspects, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from cache_constructs import (
    CacheAlarms,
    CacheDashboard,
    CachedProductService,
    CachedRestApi,
    DaxCache,
    InvalidationChannel,
    StaticSite,
    ValkeyCache,
)
from stacks.cfn_lint_metadata import IgnoreRedundantRoleDependsOn
from stacks.environment_settings import EnvironmentSettings

#: The storefront page the site serves (docs/client.md).
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
#: Paths the site's distribution sends to the API (the page calls it on its own origin).
API_PATH_PATTERNS = ("/products", "/products/*")

#: Retention days CloudWatch Logs accepts -> the CDK enum.
RETENTION_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def retention_days(days: int) -> logs.RetentionDays:
    """The CDK retention for ``days``; ValueError naming the setting otherwise."""
    if days not in RETENTION_DAYS:
        raise ValueError(f"logRetentionDays must be one of {sorted(RETENTION_DAYS)}; got {days}")
    return RETENTION_DAYS[days]


def checked_props(section: str, target: type, props: dict[str, Any]) -> dict[str, Any]:
    """``props`` if ``target`` takes every one of them; ValueError naming the others."""
    # The constructor itself: signature(target) would show jsii's metaclass __call__.
    init = target.__init__  # type: ignore[misc]
    accepted = {
        name
        for name, parameter in inspect.signature(init).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    unknown = sorted(set(props) - accepted)
    if unknown:
        raise ValueError(
            f"{section} settings {unknown} are not props of {target.__name__}; "
            f"allowed: {sorted(accepted)}"
        )
    return props


def alarm_thresholds(settings: dict[str, Any]) -> dict[str, Any]:
    """CacheAlarms props from the ``alarms`` settings: ``*_seconds`` keys become Durations.

    cdk.json cannot hold a Duration, so ``maxIteratorAgeWarningSeconds: 30`` is the prop
    ``max_iterator_age_warning=Duration.seconds(30)``.
    """
    props: dict[str, Any] = {}
    for key, value in settings.items():
        if key.endswith("_seconds"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"alarms.{key} must be a number of seconds; got {value!r}")
            props[key.removesuffix("_seconds")] = Duration.seconds(value)
        else:
            props[key] = value
    return props


class ProductServiceStack(Stack):
    """The reference deployment of CachedProductService for one environment.

    :param settings: the environment's settings (cdk.json ``environments.<env>``).
    :param wheelhouse: a directory of wheels to bundle the functions from, offline.
        Default: ``$CACHE_CONSTRUCTS_WHEELHOUSE``, else the package index.
    :param kwargs: passed to ``Stack`` (``env``, ``tags``, ...).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        settings: EnvironmentSettings,
        wheelhouse: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id_, description=settings.description, **kwargs)
        self.settings = settings
        removal_policy = (
            RemovalPolicy.DESTROY if settings.removal_policy == "destroy" else RemovalPolicy.RETAIN
        )
        retention = retention_days(settings.log_retention_days)

        #: Two AZs of private isolated subnets (plus public and egress ones when NAT is asked).
        self.vpc = self._build_vpc(settings.nat_gateways, retention, removal_policy)
        #: The push channel to browsers (AppSync Events), or None. Its publish endpoint is
        #: public, so the invalidation function reaches it only through NAT: without NAT the
        #: page polls instead (a channel nobody publishes to would leave pages stale).
        self.invalidation_channel = (
            InvalidationChannel(
                self,
                "InvalidationChannel",
                log_retention=retention,
                removal_policy=removal_policy,
            )
            if settings.nat_gateways > 0
            else None
        )
        #: The service: table, functions, caches, API, stream invalidation.
        self.service = CachedProductService(
            self,
            "ProductService",
            vpc=self.vpc,
            # With NAT the functions (and caches) sit in the egress subnets, or NAT is unused.
            vpc_subnets=(
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
                if settings.nat_gateways
                else None
            ),
            removal_policy=removal_policy,
            log_retention=retention,
            valkey_cache_props=checked_props("valkey", ValkeyCache, settings.valkey),
            enable_dax=settings.dax is not None,
            dax_cache_props=(
                None if settings.dax is None else checked_props("dax", DaxCache, settings.dax)
            ),
            rest_api_props=checked_props(
                "api", CachedRestApi, {"access_log_retention": retention, **settings.api}
            ),
            wheelhouse=wheelhouse,
            **checked_props("functions", CachedProductService, settings.functions),
            invalidation_channel=self.invalidation_channel,
        )
        service = self.service
        #: The storefront page behind CloudFront, the API on its own origin.
        self.site = self._build_site(removal_policy, retention)
        #: One dashboard for every cache layer.
        self.dashboard = CacheDashboard(
            self,
            "Dashboard",
            api=service.rest_api,
            service_metrics=service.service_metrics,
            valkey=service.valkey_cache,
            dax=service.dax_cache,
            functions=service.functions,
            stream=service.stream_invalidator,
            table=service.table,
        )
        #: Warning and critical alarms (thresholds from the environment's settings).
        self.alarms = CacheAlarms(
            self,
            "Alarms",
            api=service.rest_api,
            service_metrics=service.service_metrics,
            valkey=service.valkey_cache,
            dax=service.dax_cache,
            functions=service.functions,
            stream=service.stream_invalidator,
            **checked_props("alarms", CacheAlarms, alarm_thresholds(settings.alarms)),
        )

        if self.invalidation_channel is not None:
            channel = self.invalidation_channel
            self.dashboard.dashboard.add_widgets(
                *channel.dashboard_widgets(service_metrics=service.service_metrics)
            )
            #: Push alarms (publish failures, publish and connection errors), same topics.
            self.push_alarms = channel.add_alarms(
                topic=self.alarms.topic,
                warning_topic=self.alarms.warning_topic,
                service_metrics=service.service_metrics,
                alarm_name_prefix=settings.alarms.get("alarm_name_prefix"),
            )
            CfnOutput(
                self,
                "EventsUrl",
                value=channel.realtime_url,
                description="Push channel (AppSync Events) real-time endpoint",
            )

        CfnOutput(self, "ApiUrl", value=service.rest_api.url, description="Product API stage URL")
        CfnOutput(
            self,
            "SiteUrl",
            value=self.site.url,
            description="Storefront page (CloudFront; the API is on the same origin)",
        )
        CfnOutput(
            self,
            "TableName",
            value=service.table.table_name,
            description="DynamoDB table (source of truth)",
        )
        CfnOutput(
            self,
            "CacheEndpoint",
            value=f"{service.valkey_cache.endpoint_address}:{service.valkey_cache.endpoint_port}",
            description="Valkey (L2) endpoint host:port, TLS and IAM auth",
        )
        CfnOutput(
            self,
            "DashboardName",
            value=self.dashboard.dashboard.dashboard_name,
            description="CloudWatch dashboard of every cache layer",
        )
        Aspects.of(self).add(IgnoreRedundantRoleDependsOn())

    def _build_site(
        self, removal_policy: RemovalPolicy, retention: logs.RetentionDays
    ) -> StaticSite:
        """The storefront: web/ hashed, config.json at deploy time, the API on its origin."""
        channel = self.invalidation_channel

        def config(site_url: str) -> dict[str, Any]:
            return {
                "api_url": site_url,
                "events_url": channel.realtime_url if channel else None,
                "events_authorization": channel.client_authorization() if channel else None,
                "cache_version": "1",
            }

        return StaticSite(
            self,
            "Site",
            site_dir=WEB_DIR,
            config=config,
            connect_sources=[channel.realtime_origin] if channel else [],
            api=self.service.rest_api.api,
            api_path_patterns=list(API_PATH_PATTERNS),
            removal_policy=removal_policy,
            log_retention=retention,
        )

    def _build_vpc(
        self, nat_gateways: int, retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> ec2.Vpc:
        subnets = [
            ec2.SubnetConfiguration(
                name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            )
        ]
        if nat_gateways:
            subnets += [
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=24
                ),
            ]
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=nat_gateways,
            subnet_configuration=subnets,
            restrict_default_security_group=True,
        )
        flow_log_key = kms.Key(
            self,
            "FlowLogKey",
            description="Encrypts the VPC flow log group",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        # CloudWatch Logs encrypts with the key only for log groups of this account and region.
        flow_log_key.grant_encrypt_decrypt(
            iam.ServicePrincipal(
                f"logs.{self.region}.amazonaws.com",
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": self.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=flow_log_key,
            retention=retention,
            removal_policy=removal_policy,
        )
        vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        return vpc
