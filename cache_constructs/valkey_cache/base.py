"""ValkeyCache: what the two built variants share (network, RBAC users, grants).

Secure by default: TLS in transit and encryption at rest always on (optionally with a
customer KMS key), RBAC with one IAM-authenticated user scoped to the runtime's keys
(``~pc:*``) and commands, the default user the user group requires switched off, a
security group of its own with no ingress until `grant_connect` opens it to one function.
A variant builds its cache resource and says how clients reach it; nothing here branches
on the variant.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cache_constructs._validation import select_private_subnet_ids
from cache_constructs.contract import environment as env_names
from cache_constructs.valkey_cache.access import (
    DEFAULT_ACCESS_STRING,
    ENGINE,
    generated_cache_name,
    user_id,
)
from cache_constructs.valkey_cache.interface import connect_function
from cache_constructs.valkey_cache.props import ValkeyCacheProps


class ValkeyCache(Construct):
    """The base of `ServerlessValkeyCache` and `ReplicatedValkeyCache` (not built directly).

    Attributes every built cache has: `cache_name`, `cache_arn`, `endpoint_address`,
    `endpoint_port`, `port`, `security_group`, `connections`, `user_name`, `user_arn`,
    `user` / `default_user` / `user_group` (None with an existing user group),
    `encryption_key`, `subnet_ids`, `cluster_mode`, `serverless`.
    """

    #: True when the cache is an ElastiCache Serverless cache (its IAM token says so).
    serverless: bool = False

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None,
        props: ValkeyCacheProps,
        port: int,
        cluster_mode: bool,
    ) -> None:
        if type(self) is ValkeyCache:
            raise TypeError("build a ServerlessValkeyCache or a ReplicatedValkeyCache")
        super().__init__(scope, id_)
        self.props = props
        self.engine_version = props.engine_version
        self.cache_name: str = props.cache_name or generated_cache_name(self)
        """Serverless cache name or replication group id (part of the IAM token)."""
        self.user_name: str = props.user_name or user_id(self.cache_name, "-app")
        """RBAC user (id == name) the functions authenticate as with IAM."""
        self.access_string = props.access_string or DEFAULT_ACCESS_STRING
        self.port = port
        self.cluster_mode = cluster_mode
        """Clients must speak the cluster protocol (serverless and cluster-mode groups)."""
        self.encryption_key = props.encryption_key
        self.subnet_ids = select_private_subnet_ids("vpc_subnets", vpc, vpc_subnets)
        self.security_group: ec2.ISecurityGroup = (
            props.security_group or self._build_security_group(vpc)
        )
        """The cache's security group: `grant_connect` opens it to a function, nothing else."""
        self.connections = ec2.Connections(
            security_groups=[self.security_group], default_port=ec2.Port.tcp(port)
        )
        self.user: elasticache.CfnUser | None = None
        """The IAM-authenticated runtime user (None when `user_group_id` was given)."""
        self.default_user: elasticache.CfnUser | None = None
        """The switched-off "default" user every user group must contain."""
        self.user_group: elasticache.CfnUserGroup | None = None
        if props.user_group_id is None:
            self.user, self.default_user, self.user_group = self._build_users()
            self.user_group_id: str = self.user_group.ref
            self.user_arn: str = self.user.attr_arn
        else:
            self.user_group_id = props.user_group_id
            self.user_arn = Stack.of(self).format_arn(
                service="elasticache",
                resource="user",
                resource_name=self.user_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        # Set by the variant once its cache resource exists.
        self.cache_arn: str = ""
        self.endpoint_address: str = ""
        self.endpoint_port: str = ""

    # --- building blocks (override in a subclass to change one part) -----------------------

    def _build_security_group(self, vpc: ec2.IVpc) -> ec2.ISecurityGroup:
        return ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Valkey cache: ingress only from granted functions",
            allow_all_outbound=False,
        )

    def _build_users(
        self,
    ) -> tuple[elasticache.CfnUser, elasticache.CfnUser, elasticache.CfnUserGroup]:
        user = elasticache.CfnUser(
            self,
            "AppUser",
            engine=ENGINE,
            user_id=self.user_name,
            user_name=self.user_name,
            authentication_mode={"Type": "iam"},
            access_string=self.access_string,
        )
        # A user group must contain a user named "default"; this one cannot log in
        # ("off") and may run nothing, so connections that skip AUTH get nowhere.
        default_user = elasticache.CfnUser(
            self,
            "DefaultUser",
            engine=ENGINE,
            user_id=user_id(self.cache_name, "-default"),
            user_name="default",
            authentication_mode={"Type": "no-password-required"},
            access_string="off -@all",
        )
        group = elasticache.CfnUserGroup(
            self,
            "UserGroup",
            engine=ENGINE,
            user_group_id=f"{self.cache_name}-users",
            user_ids=[user.ref, default_user.ref],
        )
        return user, default_user, group

    # --- grants --------------------------------------------------------------------------

    def grant_connect(self, fn: lambda_.Function) -> iam.Grant:
        """Let `fn` reach and log in to the cache, and tell it how (REDIS_* environment).

        Opens the cache's security group to the function's security groups on the port only
        (and the function's egress to the cache), grants `elasticache:Connect` on the cache
        and on the runtime user, and sets REDIS_HOST/PORT/TLS/CLUSTER/AUTH/USER/CACHE_NAME/
        SERVERLESS.
        """
        environment = env_names.redis_env(
            host=self.endpoint_address,
            port=self.endpoint_port,
            tls=True,
            cluster=self.cluster_mode,
            auth="iam",
            user=self.user_name,
            cache_name=self.cache_name,
            serverless=self.serverless,
        )
        return connect_function(
            fn,
            connections=self.connections,
            environment=environment,
            connect_arns=[self.cache_arn, self.user_arn],
        )

    # --- metrics (each variant reads its own CloudWatch dimensions) ------------------------

    def metric_cpu_utilization(self) -> cloudwatch.IMetric:
        """CPU pressure in percent (busiest node, or % of the serverless ECPU limit)."""
        raise NotImplementedError

    def metric_memory_usage_percent(self) -> cloudwatch.IMetric:
        """Memory pressure in percent (fullest node, or % of the serverless storage limit)."""
        raise NotImplementedError

    def metric_evictions(self) -> cloudwatch.IMetric:
        """Keys evicted (sum over nodes)."""
        raise NotImplementedError

    def metric_current_connections(self) -> cloudwatch.IMetric:
        """Client connections (sum over nodes)."""
        raise NotImplementedError

    def metric_replication_lag(self) -> cloudwatch.IMetric | None:
        """Worst replica's lag in seconds; None when the cache has no replicas to lag."""
        raise NotImplementedError

    def metric_cache_hit_rate(self) -> cloudwatch.IMetric:
        """Cache hit rate in percent."""
        raise NotImplementedError
