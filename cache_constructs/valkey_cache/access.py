"""RBAC of the runtime's Valkey user: its keys, its commands, and the names ElastiCache accepts.

Shared by both cache variants (serverless and replication group). The access string allows
exactly what the cache runtime runs (its Lua scripts included: ACLs apply inside scripts
too); tests/constructs/test_valkey_cache.py checks both against the runtime's code.
"""

from __future__ import annotations

import hashlib
import re

from aws_cdk import Names
from constructs import Construct

from cache_constructs._validation import is_unresolved

ENGINE = "valkey"
ENGINE_VERSIONS: tuple[str, ...] = ("7.2", "8.0", "8.1")
DEFAULT_ENGINE_VERSION = "8.0"
DEFAULT_PORT = 6379
NAMESPACE = "AWS/ElastiCache"

RUNTIME_COMMANDS: tuple[str, ...] = (
    # data: envelopes, tombstones, leases, list generations
    "get",
    "getrange",
    "mget",
    "set",
    "del",
    "unlink",
    "exists",
    "incr",
    "expire",
    "pexpire",
    "pttl",
    "hget",
    "hincrby",
    "hmget",
    "hgetall",
    "hset",
    # L1 hits keep their keys warm (runtime/tracking.py: on the next tracked GET)
    "touch",
    # the atomic fill / write-through / invalidation scripts
    "eval",
    "evalsha",
    "script|load",
    "script|exists",
    # connection and cluster discovery (redis-py's cluster client)
    "ping",
    "readonly",
    "command",
    "cluster|slots",
    "cluster|shards",
    "client|setinfo",
    "client|setname",  # every connection names itself (CLIENT LIST shows whose it is)
    # L1 coherence: the tracking connection (HELLO 3 needs no grant; ACLs never block it)
    "client|tracking",
)
"""The commands the cache runtime needs (cache_constructs/runtime, its Lua scripts included)."""

KEY_PATTERN = "pc:*"
"""Every key the runtime writes starts with `pc:` (docs/architecture.md, L2 key layout)."""

DEFAULT_ACCESS_STRING = f"on ~{KEY_PATTERN} -@all " + " ".join(f"+{c}" for c in RUNTIME_COMMANDS)
"""RBAC access string of the runtime's user: its keys and commands, nothing else."""

# Words in an access string that would hand out more than the runtime needs.
_FORBIDDEN_WORDS = ("+@all", "allcommands", "allkeys", "~*", "%rw~*", "%r~*", "%w~*")
_FORBIDDEN_CATEGORIES = ("+@dangerous", "+@admin")
USER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
CACHE_NAME = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,38}[a-z0-9]$")
_MAX_USER_ID = 40
"""ElastiCache user ids and names are at most 40 characters (`USER_NAME`)."""


def validate_access_string(prop: str, access_string: str) -> None:
    """Refuse grants broader than the runtime's keys and commands, and a disabled user."""
    if is_unresolved(access_string):
        return
    if not isinstance(access_string, str):
        raise ValueError(f"{prop} must be a string; got {access_string!r}")
    words = access_string.lower().split()
    for word in words:
        if word in _FORBIDDEN_WORDS or word in _FORBIDDEN_CATEGORIES:
            raise ValueError(
                f"{prop} must not grant {word!r}: give the runtime's keys "
                f"(~{KEY_PATTERN}) and commands only"
            )
    if "on" not in words:
        raise ValueError(f"{prop} must enable the user ('on')")


def validate_user_name(prop: str, user_name: str | None) -> None:
    """1..40 lowercase letters, digits or hyphens starting with a letter; not 'default'."""
    if user_name is None or is_unresolved(user_name):
        return
    if not isinstance(user_name, str) or not USER_NAME.match(user_name) or user_name == "default":
        raise ValueError(
            f"{prop} must be 1..40 lowercase letters, digits or hyphens starting with "
            f"a letter, and not 'default'; got {user_name!r}"
        )


def validate_cache_name(prop: str, cache_name: str | None) -> None:
    """2..40 lowercase letters, digits or single hyphens, a letter first, no hyphen last."""
    if cache_name is None or is_unresolved(cache_name):
        return
    if not isinstance(cache_name, str) or not CACHE_NAME.match(cache_name):
        raise ValueError(
            f"{prop} must be 2..40 lowercase letters, digits or single hyphens, "
            f"start with a letter and not end with a hyphen; got {cache_name!r}"
        )


def user_id(cache_name: str, suffix: str) -> str:
    """`<cache_name><suffix>`, shortened to 40 characters the same way on every synth.

    A name that is too long keeps its start and gains 4 hex digits of its SHA-256, so two
    caches whose names share a long prefix still get different user ids (ids are unique
    per account and region). An unresolved name is left to CloudFormation.
    """
    full = f"{cache_name}{suffix}"
    if is_unresolved(cache_name) or len(full) <= _MAX_USER_ID:
        return full
    digest = hashlib.sha256(cache_name.encode()).hexdigest()[:4]
    keep = _MAX_USER_ID - len(suffix) - len(digest) - 1
    return f"{cache_name[:keep].rstrip('-')}-{digest}{suffix}"


def generated_cache_name(scope: Construct) -> str:
    """Stable, unique per construct path, lowercase and within ElastiCache's 40 characters."""
    raw = Names.unique_resource_name(scope, max_length=40, separator="-").lower()
    name = re.sub(r"[^a-z0-9-]", "", raw)
    name = re.sub(r"-{2,}", "-", name).strip("-")
    if not name[:1].isalpha():
        name = ("c" + name)[:40]
    return name
