"""The Lambda asset of the product service: the runtime's files of this installed package
plus its pinned requirements, bundled by `cache_constructs.bundling`.

The asset is bundled on the synthesizing machine, never in Docker: the pinned
``cache_constructs/runtime/requirements.txt`` (every transitive dependency) is installed for
the Lambda runtime (Python 3.14, arm64), from a wheel directory when one is given (the
``wheelhouse`` prop or ``CACHE_CONSTRUCTS_WHEELHOUSE``) or else from the package index, and
cached by its hash; then the runtime's own modules are copied next to it, keeping their
package paths (``cache_constructs/runtime/...``, ``cache_constructs/product/handlers/...``).

The files are taken from this package's own folder by path, never located by import, so
nothing in the caller's working directory can stand in for them; the constructs modules
themselves (which need aws_cdk) are left out of the asset.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cache_constructs import bundling
from cache_constructs.bundling import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME

__all__ = [
    "LAMBDA_ARCHITECTURE",
    "LAMBDA_RUNTIME",
    "PACKAGE_DIR",
    "REQUIREMENTS",
    "ProductServiceCode",
    "runtime_files",
]

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The installed ``cache_constructs`` folder (or the checkout's, in development)."""
REQUIREMENTS = PACKAGE_DIR / "runtime" / "requirements.txt"
RUNTIME_PARTS: tuple[str, ...] = (
    "__init__.py",
    "contract",
    "runtime",
    "handlers",
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
        if path.is_file():
            yield path
            continue
        yield from bundling.files_under(path, _EXCLUDED).values()


def asset_files(package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    """The asset's code files by their path in the asset (``cache_constructs/...``)."""
    return {
        f"{package_dir.name}/{file.relative_to(package_dir).as_posix()}": file
        for file in runtime_files(package_dir)
    }


class ProductServiceCode(Construct):
    """Holds the one bundled asset shared by every function of a stack.

    Use :meth:`of` rather than the constructor: it returns the stack's existing instance, so
    the asset is bundled once per synth however many functions use it.

    :param package_dir: the ``cache_constructs`` folder to take the code from. Default: this
        installed package.
    :param wheelhouse: a directory of wheels (Python 3.14, manylinux2014_aarch64) to bundle
        the requirements from, offline. Default: ``$CACHE_CONSTRUCTS_WHEELHOUSE``, else the
        package index (see `cache_constructs.bundling`).
    """

    CONSTRUCT_ID = "ProductServiceCode"

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        package_dir: Path | None = None,
        wheelhouse: str | Path | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.package_dir = package_dir or PACKAGE_DIR
        self.code: lambda_.Code = bundling.bundled_code(
            asset_files(self.package_dir),
            source_dir=self.package_dir,
            requirements=self.package_dir / "runtime" / "requirements.txt",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            wheelhouse=wheelhouse,
        )

    @classmethod
    def of(cls, scope: Construct, *, wheelhouse: str | Path | None = None) -> lambda_.Code:
        """The shared function code of ``scope``'s stack (created on first use).

        ``wheelhouse`` is used when the code is created: the first caller in a stack decides
        where its wheels come from (the asset is the same either way).
        """
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if isinstance(existing, ProductServiceCode):
            return existing.code
        return cls(stack, cls.CONSTRUCT_ID, wheelhouse=wheelhouse).code
