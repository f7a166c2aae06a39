"""The storefront's content-hashed build, for the local web server.

The build itself is pure Python inside the package (`cache_constructs.web_assets`), because the
StaticSite construct uses the same hashing at synth time; this module keeps local_stack's
imports where they were.
"""

from cache_constructs.web_assets import (
    CONFIG,
    HASH_HEX_DIGITS,
    HTML,
    IMMUTABLE,
    MANIFEST,
    REVALIDATE,
    SERVICE_WORKER,
    WebAssets,
    WebObject,
    build_web_assets,
    content_security_policy,
    hashed_name,
    rewrite_html,
)

__all__ = [
    "CONFIG",
    "HASH_HEX_DIGITS",
    "HTML",
    "IMMUTABLE",
    "MANIFEST",
    "REVALIDATE",
    "SERVICE_WORKER",
    "WebAssets",
    "WebObject",
    "build_web_assets",
    "content_security_policy",
    "hashed_name",
    "rewrite_html",
]
