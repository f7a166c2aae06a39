"""Where things are; importing this module puts lambda_src/ and tests/ on sys.path.

lambda_src/ is the Lambda asset root (ours imports as `product_cache` and `handlers`);
tests/ holds redis_servers.py, which starts the real redis-server processes we measure on.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SRC = ROOT / "lambda_src"
TESTS = ROOT / "tests"
RESULTS = ROOT / "bench" / "results"

for _path in (LAMBDA_SRC, TESTS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def python_path() -> str:
    """PYTHONPATH for worker processes: the repo root, the asset root and tests/."""
    return ":".join(str(p) for p in (ROOT, LAMBDA_SRC, TESTS))
