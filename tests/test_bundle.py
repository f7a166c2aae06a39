"""The real product asset: bundled locally from the wheelhouse, importable in a clean Python.

The asset is built for Lambda (Python 3.14, arm64); this machine runs another Python, so the
check imports what is pure Python (every handler and the runtime's dependencies) with only
the asset and the venv's boto3/botocore (which the Lambda runtime provides) on sys.path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from cache_constructs import bundling
from cache_constructs.bundling import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    PythonLocalBundling,
)
from cache_constructs.product.function_code import ProductServiceCode
from cache_constructs.product.handlers import READ_HANDLER

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".build" / "wheelhouse"
HANDLER_MODULES = [
    "cache_constructs.product.handlers.read_handler",
    "cache_constructs.product.handlers.list_handler",
    "cache_constructs.product.handlers.write_handler",
    "cache_constructs.product.handlers.stream_handler",
]
# What the Lambda Python runtime provides: boto3, botocore and their dependencies.
RUNTIME_PROVIDED = ["boto3", "botocore", "s3transfer", "urllib3", "dateutil"]

pytestmark = pytest.mark.synth


@pytest.fixture(scope="module")
def bundle_calls() -> Iterator[list[str]]:
    """Records every local bundling run (the wrapped PythonLocalBundling.try_bundle)."""
    calls: list[str] = []
    original = PythonLocalBundling.try_bundle

    def counting(
        self: PythonLocalBundling, output_dir: str, *, image: cdk.DockerImage, **options: object
    ) -> bool:
        calls.append(output_dir)
        return original(self, output_dir, image=image, **options)

    PythonLocalBundling.try_bundle = counting  # type: ignore[method-assign]
    yield calls
    PythonLocalBundling.try_bundle = original  # type: ignore[method-assign]


def _synth(outdir: Path) -> cdk.cx_api.CloudAssembly:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Bundle")
    for name in ("A", "B", "C"):
        lambda_.Function(
            stack,
            name,
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=READ_HANDLER,
            code=ProductServiceCode.of(stack, wheelhouse=WHEELHOUSE),
        )
    return app.synth()


@pytest.fixture(scope="module")
def asset(tmp_path_factory: pytest.TempPathFactory, bundle_calls: list[str]) -> Path:
    if not list(WHEELHOUSE.glob("*.whl")):
        pytest.fail("the wheelhouse is missing: run `make setup` first")
    outdir = tmp_path_factory.mktemp("cdkout")
    with pytest.MonkeyPatch.context() as patch:
        # The wheelhouse prop bundles offline; a cache of this test's own starts empty.
        patch.setenv(bundling.BUNDLE_CACHE_ENV, str(tmp_path_factory.mktemp("bundle-cache")))
        _synth(outdir)
        (asset_dir,) = [p for p in outdir.iterdir() if p.name.startswith("asset.")]
        assert len(bundle_calls) == 1, "one asset for every function, bundled once"
        # A second synth into the same cloud assembly reuses the staged asset.
        _synth(outdir)
        assert len(bundle_calls) == 1, "the second synth must not reinstall the wheels"
    return asset_dir


def test_asset_holds_the_code_and_the_lambda_wheels(asset: Path) -> None:
    for module in HANDLER_MODULES:
        assert (asset / (module.replace(".", "/") + ".py")).is_file(), module
    package = asset / "cache_constructs"
    assert sorted(p.name for p in (package / "runtime").glob("*.lua"))
    assert (package / "product" / "domain" / "__init__.py").is_file()
    assert (package / "contract" / "policy.py").is_file()
    # Only what the functions import: the construct modules (aws_cdk) stay out.
    assert not (package / "product" / "service.py").exists()
    assert not (package / "cached_rest_api.py").exists()
    assert [p.name for p in asset.iterdir() if p.name.startswith("lambda_src")] == []
    for package in ("aws_lambda_powertools", "redis", "amazondax", "aws_xray_sdk", "antlr4"):
        assert (asset / package).is_dir(), package
    # Built for the Lambda platform, not this machine's.
    assert list((asset / "wrapt").glob("*cpython-314-aarch64-linux-gnu.so"))


def test_asset_has_no_tests_or_bytecode(asset: Path) -> None:
    assert not list(asset.rglob("__pycache__"))
    assert not list(asset.rglob("*.pyc"))
    assert not (asset / "tests").exists()


def test_every_handler_imports_in_a_clean_interpreter(asset: Path, tmp_path: Path) -> None:
    provided = tmp_path / "runtime-provided"
    provided.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        (provided / name).symlink_to(Path(spec.origin).parent)
    code = (
        "import importlib, json, sys\n"
        f"sys.path[:0] = {json.dumps([str(asset), str(provided)])}\n"
        f"modules = {json.dumps(HANDLER_MODULES)}\n"
        "for name in modules:\n"
        "    module = importlib.import_module(name)\n"
        "    assert callable(module.handler), name\n"
        # The origin clients are imported lazily on a miss: prove they load from the asset.
        "for name in ('redis', 'amazondax', 'aws_xray_sdk.core',\n"
        "             'cache_constructs.runtime.origin'):\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps({m: getattr(sys.modules[m], '__file__', None) for m in sys.modules}))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_SERVICE_NAME": "product-service",
        "POWERTOOLS_METRICS_NAMESPACE": "CachedProductService",
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    loaded: dict[str, str | None] = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"cache_constructs.runtime.item_cache", "aws_lambda_powertools"} <= set(loaded)
    assert not {m.split(".")[0] for m in loaded} & {"aws_cdk", "constructs", "jsii"}
    # Every module of the package came from the asset, none from this checkout.
    ours = [f for m, f in loaded.items() if m.startswith("cache_constructs") and f]
    assert ours and all(f.startswith(str(asset)) for f in ours)
