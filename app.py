#!/usr/bin/env python3
"""The CDK app: builds ProductServiceStack for `-c env=dev|prod` and runs the cdk-nag checks.

Only this file reads the environment (CDK context); everything below it takes props.
`make setup` fills `.build/wheelhouse`: when it is there the Lambda asset is bundled from it
offline, else from the package index (cache_constructs.bundling), so `npx cdk synth` needs
no variables.
Synth fails on any AwsSolutions finding that is neither fixed nor acknowledged with a reason.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.environment_settings import EnvironmentSettings
from stacks.product_service_stack import ProductServiceStack

DEFAULT_ENV = "dev"
REPO_WHEELHOUSE = Path(__file__).resolve().parent / ".build" / "wheelhouse"


def build_app(app: cdk.App | None = None) -> cdk.App:
    """Add the stack of the selected environment and the nag checks to ``app``."""
    app = app or cdk.App()
    env_name = app.node.try_get_context("env") or DEFAULT_ENV
    settings = EnvironmentSettings.from_context(env_name, app.node.try_get_context("environments"))
    stack = ProductServiceStack(
        app,
        settings.stack_name,
        settings=settings,
        wheelhouse=REPO_WHEELHOUSE if REPO_WHEELHOUSE.is_dir() else None,
    )
    cdk.Tags.of(stack).add("service", "product-service")
    cdk.Tags.of(stack).add("environment", settings.name)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
