"""`constructs` (the package aws-cdk-lib needs) must not be shadowed by a folder of this repo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import constructs

ROOT = Path(__file__).resolve().parent.parent


def test_constructs_resolves_to_the_installed_package() -> None:
    location = Path(constructs.__file__).resolve()
    assert "site-packages" in location.parts
    assert ROOT not in location.parents or ".venv" in location.parts
    assert hasattr(constructs, "Construct")


def test_no_repo_folder_or_module_named_like_a_dependency() -> None:
    for name in ("constructs", "aws_cdk", "cdk_nag", "redis", "boto3", "jsii"):
        assert not (ROOT / name).exists(), name
        assert not (ROOT / f"{name}.py").exists(), name


def test_constructs_from_the_repo_root_is_still_the_package() -> None:
    """Python puts the working directory first on sys.path when running app.py."""
    code = "import constructs, sys; print(constructs.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "site-packages" in result.stdout
