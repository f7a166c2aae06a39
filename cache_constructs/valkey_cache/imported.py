"""ImportedValkeyCache: an existing Valkey/Redis endpoint that functions can be granted.

For a cache this app does not build (another stack's, or one made by hand): give its host,
port, TLS, authentication and a security group that fronts it. ``grant_connect`` then adds an
ingress rule to that security group (when it is mutable), ``elasticache:Connect`` for IAM
authentication, and the same ``REDIS_*`` environment a built cache sets. Nothing else is
created, and no CloudWatch metrics are offered (the dashboard and alarms skip it).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cache_constructs._validation import require_int_range, require_one_of
from cache_constructs.contract import environment as env_names
from cache_constructs.valkey_cache.access import (
    DEFAULT_PORT,
    validate_cache_name,
    validate_user_name,
)
from cache_constructs.valkey_cache.interface import connect_function

IMPORTED_AUTH_MODES: tuple[str, ...] = ("iam", "none")
"""How the functions log in: an IAM token for an RBAC user, or not at all (no AUTH)."""


class ImportedValkeyCache(Construct):
    """An existing cache endpoint, as an `IValkeyCache`.

    :param scope: parent construct.
    :param id_: construct id.
    :param endpoint_address: host name of the primary, configuration or serverless endpoint.
    :param security_group: the security group of the cache: ``grant_connect`` allows the
        function in on the port (an immutable imported group is left as it is).
    :param endpoint_port: 1..65535. Default 6379.
    :param tls: TLS in transit. Default True (IAM authentication requires it).
    :param serverless: an ElastiCache Serverless cache (the IAM token names it so, and it
        speaks the cluster protocol). Default False.
    :param cluster_mode: clients speak the cluster protocol. Default: ``serverless``.
    :param auth: "iam" (default: an RBAC user with IAM authentication) or "none" (the cache
        takes no AUTH; only the network guards it). A password cannot be set here: it would
        sit in plain text in the function's environment.
    :param cache_name: replication group id or serverless cache name; required with "iam".
    :param user_name: the RBAC user id (== name) the functions log in as; required with
        "iam".
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        endpoint_address: str,
        security_group: ec2.ISecurityGroup,
        endpoint_port: int = DEFAULT_PORT,
        tls: bool = True,
        serverless: bool = False,
        cluster_mode: bool | None = None,
        auth: str = "iam",
        cache_name: str | None = None,
        user_name: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        if not endpoint_address:
            raise ValueError("endpoint_address must be the cache's host name")
        require_int_range("endpoint_port", endpoint_port, 1, 65535)
        require_one_of("auth", auth, IMPORTED_AUTH_MODES)
        if serverless and cluster_mode is False:
            raise ValueError("cluster_mode cannot be False for a serverless cache")
        if auth == "iam":
            given = {"cache_name": cache_name, "user_name": user_name}
            missing = [name for name, value in given.items() if not value]
            if missing:
                raise ValueError(f"{' and '.join(missing)} must be given when auth is 'iam'")
            if not tls:
                raise ValueError("tls must be True when auth is 'iam' (IAM tokens need TLS)")
        validate_cache_name("cache_name", cache_name)
        validate_user_name("user_name", user_name)
        self.endpoint_address = endpoint_address
        self.endpoint_port = str(endpoint_port)
        self.security_group = security_group
        self.connections = ec2.Connections(
            security_groups=[security_group], default_port=ec2.Port.tcp(endpoint_port)
        )
        self.tls = tls
        self.serverless = serverless
        self.cluster_mode = serverless if cluster_mode is None else cluster_mode
        self.auth = auth
        self.cache_name = cache_name
        self.user_name = user_name
        self.cache_arn: str | None = None
        """The cache's ARN (what ``elasticache:Connect`` is granted on; None without IAM)."""
        self.user_arn: str | None = None
        if auth == "iam" and cache_name is not None and user_name is not None:
            stack = Stack.of(self)
            self.cache_arn = stack.format_arn(
                service="elasticache",
                resource="serverlesscache" if serverless else "replicationgroup",
                resource_name=cache_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            self.user_arn = stack.format_arn(
                service="elasticache",
                resource="user",
                resource_name=user_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )

    def grant_connect(self, fn: lambda_.Function) -> iam.Grant:
        """Let `fn` reach the endpoint, log in (IAM) and know how (REDIS_* environment)."""
        environment = env_names.redis_env(
            host=self.endpoint_address,
            port=self.endpoint_port,
            tls=self.tls,
            cluster=self.cluster_mode,
            auth=self.auth,
            user=self.user_name,
            cache_name=self.cache_name,
            serverless=self.serverless,
        )
        arns = None
        if self.cache_arn is not None and self.user_arn is not None:
            arns = [self.cache_arn, self.user_arn]
        return connect_function(
            fn, connections=self.connections, environment=environment, connect_arns=arns
        )
