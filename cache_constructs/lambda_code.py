"""The Lambda asset of the product service: ``lambda_src/`` plus its pinned requirements.

The asset is bundled on the synthesizing machine, never in Docker: ``pip install`` fetches the
Lambda runtime's wheels (Python 3.14, arm64) with ``--platform``/``--only-binary`` and
``--no-deps`` (``lambda_src/requirements.txt`` pins every transitive dependency), then the code
of ``lambda_src`` is copied next to them. pip reads ``PIP_NO_INDEX``/``PIP_FIND_LINKS`` from the
environment, so ``make synth`` installs from the local wheelhouse without network.

``lambda_src`` is located through its installed package, so an app that ``pip install``-ed
this project bundles the same code as a checkout does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
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

import lambda_src

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"
PIP_PYTHON_VERSION = "3.14"

# Never copied into the asset: bytecode of this machine's Python, tests, packaging leftovers.
_EXCLUDED = ("__pycache__", "*.pyc", "*.pyo", "tests", "*.egg-info", ".pytest_cache")


def lambda_source_dir() -> Path:
    """The ``lambda_src`` folder of the installed package (or of the checkout in development)."""
    return Path(lambda_src.__file__).resolve().parent


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
    """Builds the asset on this machine: pinned wheels for Lambda, then the source tree.

    It always bundles or raises, so the Docker image of the bundling options is never used.
    """

    def __init__(self, source_dir: Path) -> None:
        self.source_dir = source_dir
        self.requirements = source_dir / "requirements.txt"

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        """Install the requirements into ``output_dir`` and copy the code; True when done."""
        out = Path(output_dir)
        if self.requirements.is_file():
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
        shutil.copytree(
            self.source_dir,
            out,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(*_EXCLUDED),
        )
        return True


def _bundled_code(source_dir: Path) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(source_dir),
        # The fingerprint of the source tree (requirements.txt pins every wheel) identifies
        # the bundle, so a second synth with an unchanged tree reuses cdk.out/asset.<hash>.
        asset_hash_type=AssetHashType.SOURCE,
        exclude=list(_EXCLUDED),
        bundling=BundlingOptions(
            # Required by the API, never pulled: PipLocalBundling always bundles or raises.
            image=LAMBDA_RUNTIME.bundling_image,
            local=PipLocalBundling(source_dir),
        ),
    )


class ProductServiceCode(Construct):
    """Holds the one bundled asset shared by every function of a stack.

    Use :meth:`of` rather than the constructor: it returns the stack's existing instance, so
    the asset is bundled once per synth however many functions use it.
    """

    CONSTRUCT_ID = "ProductServiceCode"

    def __init__(self, scope: Construct, id_: str, *, source_dir: Path | None = None) -> None:
        super().__init__(scope, id_)
        self.source_dir = source_dir or lambda_source_dir()
        self.code: lambda_.Code = _bundled_code(self.source_dir)

    @classmethod
    def of(cls, scope: Construct) -> lambda_.Code:
        """The shared function code of ``scope``'s stack (created on first use)."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if isinstance(existing, ProductServiceCode):
            return existing.code
        return cls(stack, cls.CONSTRUCT_ID).code
