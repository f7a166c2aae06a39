"""A CDK app with one Python Lambda function: the yardstick for the product stack's synth time.

Run the same way as the project's app.py (`python bench/synth_baseline/app.py` with the
output directory in CDK_OUTDIR).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

app = cdk.App()
stack = cdk.Stack(app, "SynthBaseline")
lambda_.Function(
    stack,
    "Function",
    runtime=lambda_.Runtime.PYTHON_3_14,
    architecture=lambda_.Architecture.ARM_64,
    handler="index.handler",
    code=lambda_.Code.from_asset(str(Path(__file__).resolve().parent / "function")),
)
app.synth()
