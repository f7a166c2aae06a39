"""Helpers for construct tests: a Stack in an App that skips asset bundling."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
from aws_cdk import assertions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

TEST_ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def new_stack(*, nag: bool = False, stack_name: str = "TestStack") -> cdk.Stack:
    """A Stack in a fresh App (bundling skipped); `nag` adds the cdk-nag AwsSolutions pack."""
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return cdk.Stack(app, stack_name, env=TEST_ENV)


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge the cdk-nag AwsSolutions `rule` (e.g. "IAM4") on `scope` and below."""
    cdk.Validations.of(scope).acknowledge(
        cdk.Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason)
    )


def new_vpc(stack: cdk.Stack) -> ec2.Vpc:
    """A two-AZ VPC with private (egress) subnets, no NAT: enough for caches and functions."""
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )
    # Test scaffolding, not what the constructs under test build.
    acknowledge(vpc, "VPC7", "test scaffolding VPC: flow logs are the app's concern")
    return vpc


def new_function(
    stack: cdk.Stack, vpc: ec2.IVpc | None = None, id_: str = "Fn"
) -> lambda_.Function:
    """A minimal Python function (optionally in `vpc`) to grant things to."""
    fn = lambda_.Function(
        stack,
        id_,
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        vpc=vpc,
    )
    for policy in ("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"):
        acknowledge(
            fn,
            f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
            "test scaffolding function: Lambda's managed execution policies are fine here",
        )
    return fn


def template_of(build: Callable[[cdk.Stack], object]) -> assertions.Template:
    """Build constructs into a fresh stack with `build(stack)` and return its template."""
    stack = new_stack()
    build(stack)
    return assertions.Template.from_stack(stack)


def synth_app(stack: cdk.Stack) -> None:
    """Synthesize the whole app of `stack` (runs validation plugins such as cdk-nag)."""
    app = stack.node.root
    assert isinstance(app, cdk.App)
    app.synth()
