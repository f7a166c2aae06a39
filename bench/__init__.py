"""`make bench`: ours beside two peers (naive cache-aside, dogpile.cache) on one machine.

Run as `python -m bench` (BENCH_QUICK=1 for a short run). Results land in bench/results/.
"""

# Every bench module may import `redis_servers` (tests/) and ours (cache_constructs/): paths puts
# both on sys.path, and the package is always imported before any of its modules.
from bench import paths as _paths  # noqa: F401
