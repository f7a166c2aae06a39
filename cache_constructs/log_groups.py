"""Log groups the constructs build: retention, removal policy and an optional customer key.

CloudWatch Logs encrypts a log group with a customer-managed KMS key only when the key policy
lets the regional Logs service use it (for log groups of this account and region): a key of
this app gets that statement added once; an imported key's policy cannot be changed from here
and must already allow it (docs/constructs.md, "Log groups").
"""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from cache_constructs._checkov import skip_checkov
from cache_constructs._props import construct_props
from cache_constructs._validation import require_instance, require_one_of

LOG_REMOVAL_POLICIES = (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY)
"""What may happen to a log group when it leaves the stack (a snapshot means nothing there)."""

_LOGS_KEY_MARKER = "CloudWatchLogsMayUseThisKey"
#: The actions CloudWatch Logs needs on a key that encrypts a log group.
LOGS_KEY_ACTIONS = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)


@construct_props
class LogGroupSettings:
    """How an owner wants the log groups of the constructs it builds (None: their default)."""

    retention: logs.RetentionDays | None = None
    """How long events are kept."""
    removal_policy: RemovalPolicy | None = None
    """``RETAIN`` or ``DESTROY`` when the log group leaves the stack."""
    encryption_key: kms.IKey | None = None
    """A customer-managed KMS key for the log group (default: CloudWatch Logs' own encryption)."""

    def __post_init__(self) -> None:
        require_instance("LogGroupSettings.retention", self.retention, logs.RetentionDays)
        if self.removal_policy is not None:
            require_one_of(
                "LogGroupSettings.removal_policy", self.removal_policy, LOG_REMOVAL_POLICIES
            )

    def or_else(self, fallback: LogGroupSettings | None) -> LogGroupSettings:
        """These settings, with unset fields taken from ``fallback``."""
        if fallback is None:
            return self
        return LogGroupSettings(
            retention=self.retention or fallback.retention,
            removal_policy=self.removal_policy or fallback.removal_policy,
            encryption_key=self.encryption_key or fallback.encryption_key,
        )


def build_log_group(
    scope: Construct,
    id_: str,
    *,
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
    encryption_key: kms.IKey | None = None,
    log_group_name: str | None = None,
) -> logs.LogGroup:
    """A log group with a retention, a removal policy and (optionally) a customer key.

    ``log_group_name`` fixes the name where a service writes to a name of its own choosing
    (AppSync's ``/aws/appsync/apis/<id>``); default: a name CloudFormation generates.
    """
    if encryption_key is not None:
        allow_cloudwatch_logs(encryption_key)
    group = logs.LogGroup(
        scope,
        id_,
        log_group_name=log_group_name,
        retention=retention,
        removal_policy=removal_policy,
        encryption_key=encryption_key,
    )
    if encryption_key is None:
        skip_checkov(
            group,
            "CKV_AWS_158",
            "no customer-managed key was given (log_encryption_key): CloudWatch Logs encrypts "
            "the group with its own key",
        )
    return group


def allow_cloudwatch_logs(key: kms.IKey) -> None:
    """Let CloudWatch Logs of this key's account and region encrypt log groups with ``key``.

    Added once per key. The condition limits it to log groups of this account and region, so
    the Logs service cannot use the key on behalf of anyone else (no confused deputy).
    """
    if key.node.try_find_child(_LOGS_KEY_MARKER) is not None:
        return
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=list(LOGS_KEY_ACTIONS),
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    # The key is a construct (built or imported): the marker child says "done" for it.
    Construct(key, _LOGS_KEY_MARKER)  # type: ignore[arg-type]


CUSTOM_RESOURCE_LOG_GROUP_ID = "CustomResourceProviderLogs"


def custom_resource_log_group(scope: Construct, settings: LogGroupSettings) -> logs.ILogGroup:
    """The log group of the stack's one AwsCustomResource provider function.

    That function is a singleton per stack, so its log group is too: the first construct of
    the stack that needs it decides its retention, removal policy and key (default one month,
    ``RETAIN``, no customer key); later ones share it.
    """
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(CUSTOM_RESOURCE_LOG_GROUP_ID)
    if isinstance(existing, logs.LogGroup):
        return existing
    return build_log_group(
        stack,
        CUSTOM_RESOURCE_LOG_GROUP_ID,
        retention=settings.retention or logs.RetentionDays.ONE_MONTH,
        removal_policy=settings.removal_policy or RemovalPolicy.RETAIN,
        encryption_key=settings.encryption_key,
    )
