"""Aspect: tell cfn-lint about the one warning the CDK's Lambda wiring always produces.

``lambda.Function`` (and the CDK's custom-resource providers) add their role to the
function's ``DependsOn`` although ``Role: Fn::GetAtt`` already orders them; cfn-lint reports
that as W3005. The dependency is harmless and emitted by aws-cdk-lib, so the check is
ignored on those functions only (resource metadata), not for the whole template.
"""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, IAspect
from constructs import IConstruct

REDUNDANT_DEPENDS_ON = "W3005"


@jsii.implements(IAspect)
class IgnoreRedundantRoleDependsOn:
    """Adds ``Metadata.cfn-lint.config.ignore_checks: [W3005]`` to Lambda functions."""

    def visit(self, node: IConstruct) -> None:
        """Mark ``AWS::Lambda::Function`` resources; leave everything else alone."""
        if isinstance(node, CfnResource) and node.cfn_resource_type == "AWS::Lambda::Function":
            node.add_metadata("cfn-lint", {"config": {"ignore_checks": [REDUNDANT_DEPENDS_ON]}})
