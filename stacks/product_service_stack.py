"""ProductServiceStack: composition only (VPC, the service, the storefront site, dashboard,
alarms, outputs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Aspects, CfnOutput, CfnResource, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from cache_constructs import (
    CacheAlarms,
    CacheDashboard,
    CachedProductService,
    StaticSite,
    StaticSiteProps,
)
from cache_constructs._checkov import skip_checkov
from cache_constructs.log_groups import build_log_group
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


#: The handler aws-cdk-lib adds for ``restrict_default_security_group`` and why checkov's
#: Lambda checks do not fit it.
_RESTRICT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"
_RESTRICT_SG_REASONS = {
    "CKV_AWS_115": "aws-cdk-lib's default-security-group handler runs once per deployment",
    "CKV_AWS_116": (
        "CloudFormation waits for the handler's answer and fails the deployment on error; "
        "a dead-letter queue would receive nothing anyone acts on"
    ),
    "CKV_AWS_117": (
        "the handler only calls the EC2 API to strip the default security group's rules; "
        "inside this VPC (no NAT) it could not reach that API"
    ),
}


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

        #: Encrypts every log group of the stack (flow logs, functions, API, custom resources).
        self.log_key = kms.Key(
            self,
            "LogKey",
            description="Encrypts the log groups of the product service stack",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        #: Two AZs of private isolated subnets (plus public and egress ones when NAT is asked).
        self.vpc = self._build_vpc(settings.nat_gateways, retention, removal_policy)
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
            log_encryption_key=self.log_key,
            valkey_cache_props=settings.valkey,
            enable_dax=settings.dax is not None,
            dax_cache_props=settings.dax,
            rest_api_props=settings.api,
            wheelhouse=wheelhouse,
            memory_size_mb=settings.functions.memory_size_mb,
            reserved_concurrent_executions=settings.functions.reserved_concurrent_executions,
            push_invalidation=settings.push_invalidation,
        )
        service = self.service
        #: The push channel to browsers (AppSync Events), or None with push off.
        self.invalidation_channel = service.invalidation_channel
        #: The storefront page behind CloudFront, the API on its own origin.
        self.site = self._build_site(removal_policy)
        #: One dashboard for every cache layer: it is handed the whole service.
        self.dashboard = CacheDashboard(self, "Dashboard", sources=service)
        #: Warning and critical alarms (thresholds from the environment's settings).
        self.alarms = CacheAlarms(
            self,
            "Alarms",
            sources=service,
            topic=(
                sns.Topic.from_topic_arn(self, "AlarmTopic", settings.alarm_topic_arn)
                if settings.alarm_topic_arn
                else None
            ),
            props=settings.alarms,
        )
        if self.invalidation_channel is not None:
            CfnOutput(
                self,
                "EventsUrl",
                value=self.invalidation_channel.realtime_url,
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

    def _build_site(self, removal_policy: RemovalPolicy) -> StaticSite:
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
            # Its deployment log group as the service's: retention, removal policy, LogKey.
            log_defaults=self.service.log_settings,
            props=StaticSiteProps(
                api_path_patterns=API_PATH_PATTERNS, removal_policy=removal_policy
            ),
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
        flow_log_group = build_log_group(
            self,
            "FlowLogs",
            retention=retention,
            removal_policy=removal_policy,
            encryption_key=self.log_key,
        )
        vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        provider = self.node.try_find_child(_RESTRICT_SG_PROVIDER)
        handler = provider.node.try_find_child("Handler") if provider is not None else None
        if isinstance(handler, CfnResource):
            for check_id, reason in _RESTRICT_SG_REASONS.items():
                skip_checkov(handler, check_id, reason)
        return vpc
