"""What the Lambda functions, `make local` and the runtime tests import starts no jsii.

Every module below is imported in a fresh interpreter; none may load aws_cdk, jsii or the
`constructs` library (the wall between the constructs and everything they hand over).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cache_constructs"
PURE_FOLDERS = ("contract", "runtime", "handlers", "product/domain", "product/handlers")
PURE_FILES = (
    "product/routes.py",
    "product/table_schema.py",
    "product/push.py",
    "product/__init__.py",
    "web_assets.py",
    "__init__.py",
)
FORBIDDEN = ("aws_cdk", "jsii", "constructs", "cdk_nag")


def _modules() -> list[str]:
    files = [PACKAGE / name for name in PURE_FILES]
    for folder in PURE_FOLDERS:
        files += sorted((PACKAGE / folder).rglob("*.py"))
    names = []
    for file in files:
        parts = file.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_runtime_side_modules_import_no_cdk() -> None:
    modules = _modules()
    assert len(modules) > 30
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert [m for m in loaded if m.split(".")[0] in FORBIDDEN] == []


def test_the_package_still_exports_the_constructs_lazily() -> None:
    code = (
        "import sys, cache_constructs\n"
        "assert 'aws_cdk' not in sys.modules\n"
        "from cache_constructs import CachedRestApi, CachePolicy\n"
        "assert 'aws_cdk' in sys.modules\n"
        "assert CachePolicy.__module__ == 'cache_constructs.contract.policy'\n"
        "assert sorted(cache_constructs.__all__) == sorted(cache_constructs._EXPORTS)\n"
        "for name in cache_constructs.__all__: getattr(cache_constructs, name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
