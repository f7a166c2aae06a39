"""TTL jitter, checked statistically with a seeded RNG."""

from __future__ import annotations

import random
import statistics

from cache_constructs.runtime.jitter import jittered


def test_jitter_shortens_within_the_fraction_and_spreads_uniformly():
    rng = random.Random(1234)
    samples = [jittered(100, 0.2, rng) for _ in range(20_000)]
    assert min(samples) >= 80 and max(samples) <= 100
    assert abs(statistics.fmean(samples) - 90) < 0.3  # uniform on [80, 100]: mean 90
    assert abs(statistics.pstdev(samples) - 20 / 12**0.5) < 0.3
    # every 2-second bucket of the range is used (no clumping)
    buckets = {int((s - 80) // 2) for s in samples}
    assert buckets >= set(range(10))


def test_zero_jitter_and_zero_ttl():
    rng = random.Random(1)
    assert jittered(60, 0.0, rng) == 60
    assert jittered(0, 0.3, rng) == 0


def test_l2_ttls_written_by_the_cache_are_jittered(make_runtime, counting_dynamo, redis_url):
    import redis
    from runtime_helpers import policy_json, put_product

    runtime = make_runtime(policy=policy_json(jitter=0.5, swr_seconds=0), rng=random.Random(7))
    for i in range(40):
        put_product(counting_dynamo, f"j{i}", 1)
        runtime.items.read(f"j{i}")
    client = redis.Redis.from_url(redis_url)
    ttls = [client.pttl(f"pc:{{p:j{i}}}:v") / 1000 for i in range(40)]
    assert all(1800 - 5 <= t <= 3600 for t in ttls)
    assert max(ttls) - min(ttls) > 900  # spread over the jitter range, not one expiry
