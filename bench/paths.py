"""Where things are; importing this module puts the repo root and tests/ on sys.path.

The repo root holds `cache_constructs` (ours: its runtime and handlers, importing no aws_cdk);
tests/ holds redis_servers.py, which starts the real redis-server processes we measure on.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
RESULTS = ROOT / "bench" / "results"

for _path in (ROOT, TESTS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def python_path() -> str:
    """PYTHONPATH for worker processes: the repo root and tests/."""
    return ":".join(str(p) for p in (ROOT, TESTS))
