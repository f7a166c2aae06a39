"""The stack's AwsCustomResource provider: the one function aws-cdk-lib builds for all of them.

It runs CloudFormation's SDK calls (UpdateStage, DescribePrefixLists) once per deployment, from
Lambda's own network. What it is and why some checks do not apply is said once, here.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cache_constructs._checkov import skip_checkov
from cache_constructs._nag import BASIC_EXECUTION_ROLE

PROVIDER_ID = "AWS679f53fac002430cb0da5b7982bd2287"
"""The construct id of the singleton function behind every AwsCustomResource in a stack."""

_CHECKOV_REASONS = {
    "CKV_AWS_115": (
        "CloudFormation invokes this provider once per custom resource change during a "
        "deployment; reserved concurrency would only take from the account pool"
    ),
    "CKV_AWS_116": (
        "CloudFormation waits for the provider's answer and fails the deployment on error; "
        "a dead-letter queue would receive nothing anyone acts on"
    ),
    "CKV_AWS_117": (
        "the provider only calls AWS control-plane APIs (API Gateway, EC2); inside a VPC it "
        "would need NAT or interface endpoints for them"
    ),
    "CKV_AWS_173": (
        "aws-cdk-lib sets no environment variables on the provider: there is nothing to "
        "encrypt with a customer key"
    ),
}


def acknowledge_provider(scope: Construct) -> None:
    """Explain the provider of ``scope``'s stack to cdk-nag and checkov (once it exists)."""
    provider = Stack.of(scope).node.try_find_child(PROVIDER_ID)
    if not isinstance(provider, lambda_.Function):
        return
    Validations.of(provider).acknowledge(
        Acknowledgment(
            id=BASIC_EXECUTION_ROLE,
            reason="the CDK AwsCustomResource provider only writes its own logs",
        ),
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-L1",
            reason="the CDK AwsCustomResource provider's runtime is chosen by aws-cdk-lib",
        ),
    )
    for check_id, reason in _CHECKOV_REASONS.items():
        skip_checkov(provider, check_id, reason)
