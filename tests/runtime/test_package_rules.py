"""Package-wide rules: no KEYS/SCAN, a lean import path for L2 hits, metric names as documented."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from cache_constructs.contract import metrics

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cache_constructs" / "runtime"

# KEYS/SCAN in any spelling redis-py or Lua would use: client.keys(...), scan_iter,
# redis.call('KEYS', ...), "SCAN", hscan/sscan/zscan.
FORBIDDEN = re.compile(
    r"""\.keys\s*\(\s*["'*]|\bscan(_iter)?\s*\(|\b[hsz]scan\w*\s*\(|["']\s*(KEYS|SCAN)\b""",
    re.IGNORECASE,
)


def test_no_keys_or_scan_anywhere_in_the_runtime():
    sources = sorted(PACKAGE.rglob("*.py")) + sorted(PACKAGE.rglob("*.lua"))
    assert len(sources) > 10
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sources
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert offenders == []


def test_the_pattern_catches_what_it_should():
    for line in ("client.keys('pc:*')", "r.scan_iter(match='x')", "redis.call('KEYS', p)",
                 "c.hscan(k)", "redis.call(\"SCAN\", 0)"):  # fmt: skip
        assert FORBIDDEN.search(line), line
    assert not FORBIDDEN.search("keys = item_keys(product_id)")


def test_l2_hit_import_path_stays_lean():
    """Importing the runtime and serving an L2 hit must not load boto3, botocore's client
    machinery, amazondax or aws_xray_sdk. (Powertools imports the bare `botocore` package
    for its user-agent hook; that is a 1 ms import of botocore/__init__ only.)"""
    code = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import redis
from cache_constructs.runtime.config import load_config
from cache_constructs.contract.policy import CachePolicy
from cache_constructs.product.domain.codec import PRODUCT_CODEC
from cache_constructs.runtime.runtime import build_runtime
from cache_constructs.runtime import envelope
from cache_constructs.runtime.codec import Rendered

class OneValue:
    # stands in for redis-py on the GET of an L2 hit
    def get(self, key):
        return envelope.encode(Rendered(b'{"productId":"x"}', '"e"', 1), 4_102_444_800_000)
    def register_script(self, source):
        return None

policy = CachePolicy(name="p", layers={"l1", "l2", "dax"}, l1_ttl_seconds=5, l2_ttl_seconds=60,
                     dax_ttl_seconds=60, negative_ttl_seconds=5, jitter=0.1).to_runtime_json()
config = load_config({"TABLE_NAME": "t", "ITEM_CACHE_POLICY": policy,
                      "LIST_CACHE_POLICY": policy, "AWS_REGION": "eu-west-1",
                      "DAX_ENDPOINT": "daxs://x.dax-clusters.eu-west-1.amazonaws.com",
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
runtime = build_runtime(config, codec=PRODUCT_CODEC, redis_client=OneValue())
result = runtime.items.read("x")
assert result.x_cache == "HIT-L2", result
print(json.dumps(sorted(sys.modules)))
"""
    output = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    modules = set(json.loads(output.strip().splitlines()[-1]))
    heavy = {
        m
        for m in modules
        if m.split(".")[0] in ("boto3", "amazondax", "aws_xray_sdk", "s3transfer")
        or m in ("botocore.session", "botocore.client", "botocore.auth", "botocore.endpoint")
    }
    assert heavy == set()
    assert "cache_constructs.runtime.origin" in modules  # imported, but its clients stay unbuilt
    assert not {m for m in modules if m.split(".")[0] in ("aws_cdk", "jsii", "constructs")}


def test_metric_names_are_the_documented_ones():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    section = doc.split("## Metrics", 1)[1]
    documented = set(re.findall(r"`([A-Z][A-Za-z0-9]+)`", section))
    used = set(metrics.COUNT_METRICS) | set(metrics.LATENCY_METRICS)
    assert used == documented - {"AWS"}


def test_tracer_is_created_lazily():
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from cache_constructs.runtime import telemetry;"
        "assert 'aws_xray_sdk' not in sys.modules;"
        "telemetry.get_tracer();"
        "assert 'aws_xray_sdk' in sys.modules;"
        "assert telemetry.get_tracer() is telemetry.get_tracer()"
    )
    subprocess.run([sys.executable, "-c", code, str(ROOT)], check=True, timeout=60)
