"""The cdk-nag findings every function this library builds has, explained once.

A function's role gets AWS's managed execution policies (AWSLambdaBasicExecutionRole, and
AWSLambdaVPCAccessExecutionRole for a function in a VPC) and, with X-Ray active tracing, the
two X-Ray actions that take no resource ARN; cdk-nag reports each of them.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_lambda as lambda_

_MANAGED_POLICY = (
    "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{}]"
)
BASIC_EXECUTION_ROLE = _MANAGED_POLICY.format("AWSLambdaBasicExecutionRole")
"""The finding id of a role with AWSLambdaBasicExecutionRole."""
VPC_ACCESS_EXECUTION_ROLE = _MANAGED_POLICY.format("AWSLambdaVPCAccessExecutionRole")
"""The finding id of a role with AWSLambdaVPCAccessExecutionRole."""
WILDCARD_RESOURCE = "AwsSolutions::AwsSolutions-IAM5[Resource::*]"
"""The finding id of a statement on ``Resource: *``."""


def acknowledge_function_role(function: lambda_.Function, *, in_vpc: bool) -> None:
    """Explain the managed execution policies and X-Ray's actions on ``function``'s role."""
    role = function.role
    if role is None:
        return
    acknowledgments = [
        Acknowledgment(
            id=BASIC_EXECUTION_ROLE,
            reason=(
                "AWSLambdaBasicExecutionRole only allows writing the function's own "
                "CloudWatch logs; AWS keeps it current for the Lambda service."
            ),
        ),
        Acknowledgment(
            id=WILDCARD_RESOURCE,
            reason=(
                "X-Ray active tracing needs xray:PutTraceSegments and "
                "xray:PutTelemetryRecords, which have no resource-level permissions."
            ),
        ),
    ]
    if in_vpc:
        acknowledgments.append(
            Acknowledgment(
                id=VPC_ACCESS_EXECUTION_ROLE,
                reason=(
                    "AWSLambdaVPCAccessExecutionRole is the minimal policy Lambda needs to "
                    "manage the function's VPC network interfaces."
                ),
            )
        )
    Validations.of(role).acknowledge(*acknowledgments)
