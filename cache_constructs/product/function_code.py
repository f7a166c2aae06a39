"""The Lambda asset of the product service: the runtime's files of this installed package
plus its pinned requirements.

The asset is bundled on the synthesizing machine, never in Docker: ``pip install`` fetches the
Lambda runtime's wheels (Python 3.14, arm64) with ``--platform``/``--only-binary`` and
``--no-deps`` (``cache_constructs/runtime/requirements.txt`` pins every transitive
dependency), then the runtime's own modules are copied next to them, keeping their package
paths (``cache_constructs/runtime/...``, ``cache_constructs/product/handlers/...``). pip reads
``PIP_NO_INDEX``/``PIP_FIND_LINKS`` from the environment, so ``make synth`` installs from the
local wheelhouse without network.

The files are taken from this package's own folder by path, never located by import, so
nothing in the caller's working directory can stand in for them; the constructs modules
themselves (which need aws_cdk) are left out of the asset.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    DockerImage,
    ILocalBundling,
    Stack,
)
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"
PIP_PYTHON_VERSION = "3.14"

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The installed ``cache_constructs`` folder (or the checkout's, in development)."""
REQUIREMENTS = PACKAGE_DIR / "runtime" / "requirements.txt"
RUNTIME_PARTS: tuple[str, ...] = (
    "__init__.py",
    "contract",
    "runtime",
    "product/__init__.py",
    "product/routes.py",
    "product/table_schema.py",
    "product/push.py",
    "product/domain",
    "product/handlers",
)
"""What the functions import, relative to ``PACKAGE_DIR``: nothing of it imports aws_cdk."""

# Never copied into the asset: bytecode of this machine's Python, tests, packaging leftovers.
_EXCLUDED = ("__pycache__", "*.pyc", "*.pyo", "tests", "*.egg-info", ".pytest_cache")


def runtime_files(package_dir: Path = PACKAGE_DIR) -> Iterator[Path]:
    """Every file of `RUNTIME_PARTS`, sorted, skipping `_EXCLUDED`."""
    for part in RUNTIME_PARTS:
        path = package_dir / part
        if not path.exists():
            raise FileNotFoundError(f"the installed package lacks {path}")
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            relative = file.relative_to(package_dir)
            if any(relative.match(pattern) for pattern in _EXCLUDED) or any(
                p in ("__pycache__", "tests") for p in relative.parts
            ):
                continue
            yield file


def source_hash(package_dir: Path = PACKAGE_DIR) -> str:
    """A fingerprint of the runtime files and the pinned requirements (the bundle's identity)."""
    digest = hashlib.sha256()
    for file in runtime_files(package_dir):
        digest.update(str(file.relative_to(package_dir)).encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    digest.update(f"{PIP_PLATFORM}/{PIP_PYTHON_VERSION}".encode())
    return digest.hexdigest()


def pip_install_command(requirements: Path, target: Path) -> list[str]:
    """The pip command that installs the pinned requirements for the Lambda runtime."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        PIP_PLATFORM,
        "--python-version",
        PIP_PYTHON_VERSION,
        "--implementation",
        "cp",
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Builds the asset on this machine: pinned wheels for Lambda, then the runtime's files.

    It always bundles or raises, so the Docker image of the bundling options is never used.
    """

    def __init__(self, package_dir: Path) -> None:
        self.package_dir = package_dir
        self.requirements = package_dir / "runtime" / "requirements.txt"

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        """Install the requirements into ``output_dir`` and copy the code; True when done."""
        out = Path(output_dir)
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            pip_install_command(self.requirements, out),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                "pip could not install the Lambda requirements "
                f"({self.requirements}) for {PIP_PLATFORM}/cp{PIP_PYTHON_VERSION}. "
                "Run `make setup` to build the wheelhouse and synthesize with "
                "PIP_NO_INDEX=1 PIP_FIND_LINKS=.build/wheelhouse (as `make synth` does).\n"
                + result.stderr[-4000:]
            )
        target = out / self.package_dir.name
        for file in runtime_files(self.package_dir):
            destination = target / file.relative_to(self.package_dir)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, destination)
        return True


def _bundled_code(package_dir: Path) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(package_dir),
        # The runtime files and requirements identify the bundle, so a second synth with
        # unchanged files reuses cdk.out/asset.<hash>; construct code changes do not count.
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=source_hash(package_dir),
        bundling=BundlingOptions(
            # Required by the API, never pulled: PipLocalBundling always bundles or raises.
            image=LAMBDA_RUNTIME.bundling_image,
            local=PipLocalBundling(package_dir),
        ),
    )


class ProductServiceCode(Construct):
    """Holds the one bundled asset shared by every function of a stack.

    Use :meth:`of` rather than the constructor: it returns the stack's existing instance, so
    the asset is bundled once per synth however many functions use it.
    """

    CONSTRUCT_ID = "ProductServiceCode"

    def __init__(self, scope: Construct, id_: str, *, package_dir: Path | None = None) -> None:
        super().__init__(scope, id_)
        self.package_dir = package_dir or PACKAGE_DIR
        self.code: lambda_.Code = _bundled_code(self.package_dir)

    @classmethod
    def of(cls, scope: Construct) -> lambda_.Code:
        """The shared function code of ``scope``'s stack (created on first use)."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if isinstance(existing, ProductServiceCode):
            return existing.code
        return cls(stack, cls.CONSTRUCT_ID).code
