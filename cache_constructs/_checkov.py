"""checkov suppressions in resource metadata, each with the reason a reviewer can judge.

checkov (``--framework cloudformation``) reads ``Metadata.checkov.skip: [{id, comment}]`` of a
resource. The constructs record here the findings they cannot fix by design, on the resource
that causes them, the way they acknowledge cdk-nag findings.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from constructs import IConstruct

CHECKOV_METADATA_KEY = "checkov"


def skip_checkov(scope: IConstruct, check_id: str, comment: str) -> None:
    """Record that ``check_id`` does not apply to ``scope``'s resource, and why."""
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    if not isinstance(resource, CfnResource):
        raise ValueError(f"{scope.node.path} has no CloudFormation resource to annotate")
    if len(comment) < 30:
        raise ValueError(f"the reason to skip {check_id} must say why ({comment!r})")
    metadata: dict[str, Any] = resource.get_metadata(CHECKOV_METADATA_KEY) or {}
    skips: list[dict[str, str]] = [s for s in metadata.get("skip", []) if s["id"] != check_id]
    skips.append({"id": check_id, "comment": comment})
    resource.add_metadata(CHECKOV_METADATA_KEY, {**metadata, "skip": skips})
