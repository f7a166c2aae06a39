"""The wheel carries the constructs AND the Lambda code: an app that pip-installed it bundles.

Builds the wheel from a copy of the project, installs it with --target outside the repo, and
synthesizes (bundling on, from the wheelhouse) an app there that subclasses CachedRestApi and
uses CachedProductService. aws-cdk-lib and its dependencies come from this venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".build" / "wheelhouse"
PROJECT_FILES = ["pyproject.toml", "README.md", "cache_constructs"]

pytestmark = pytest.mark.synth

APP = '''
import json
import sys

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs

import cache_constructs
from cache_constructs import CachedProductService, CachedRestApi, CachePolicy


class ShopApi(CachedRestApi):
    """A subclass that replaces one building block: a one-week access log."""

    def _build_access_log_group(self, retention):
        return logs.LogGroup(self, "ShopAccessLogs", retention=logs.RetentionDays.ONE_WEEK)


app = cdk.App()
stack = cdk.Stack(app, "Shop")
vpc = ec2.Vpc(
    stack,
    "Vpc",
    max_azs=2,
    nat_gateways=0,
    subnet_configuration=[
        ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    ],
)
service = CachedProductService(stack, "Products", vpc=vpc, enable_dax=False)
api = ShopApi(stack, "ShopApi", web_acl_enabled=False)
api.add_cached_route(
    api.root.add_resource("featured"),
    "GET",
    apigateway.LambdaIntegration(service.list_function),
    policy=CachePolicy.STATIC,
)
app.synth()
print(json.dumps({"cache_constructs": cache_constructs.__file__, "sys_path": sys.path}))
'''


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in PROJECT_FILES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(dist)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("cache_constructs-*.whl")
    return built


def test_wheel_carries_the_whole_asset_in_one_top_level_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "cache_constructs").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".lua", ".txt")
    }
    assert expected <= names, sorted(expected - names)
    assert "cache_constructs/product/service.py" in names
    top_level = {name.split("/")[0] for name in names if not name.endswith(".dist-info")}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"cache_constructs"}


def test_installed_package_synthesizes_an_app_with_the_handler_code(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(APP)
    # Folders a consumer's app may well have: none of them may end up in the asset.
    for decoy in ("lambda_src", "handlers", "runtime"):
        (app_dir / decoy).mkdir()
        (app_dir / decoy / "__init__.py").write_text("DECOY = True\n")
        (app_dir / decoy / "read_handler.py").write_text("DECOY = True\n")
    outdir = tmp_path / "cdk.out"
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "CDK_OUTDIR": str(outdir),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(WHEELHOUSE),
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["cache_constructs"]).is_relative_to(site)
    assert str(ROOT) not in report["sys_path"]

    template = json.loads((outdir / "Shop.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) >= 4
    retention = [
        r["Properties"].get("RetentionInDays")
        for key, r in template["Resources"].items()
        if key.startswith("ShopApiShopAccessLogs")
    ]
    assert retention == [7]
    (asset,) = [
        p
        for p in outdir.iterdir()
        if p.name.startswith("asset.") and p.is_dir() and (p / "cache_constructs").is_dir()
    ]
    handlers = asset / "cache_constructs" / "product" / "handlers"
    for module in ("read_handler", "list_handler", "write_handler", "stream_handler"):
        library_copy = site / "cache_constructs" / "product" / "handlers" / f"{module}.py"
        assert (handlers / f"{module}.py").read_bytes() == library_copy.read_bytes(), module
    assert (asset / "cache_constructs" / "runtime" / "fill.lua").is_file()
    assert not any((asset / decoy).exists() for decoy in ("lambda_src", "handlers", "runtime"))
    assert b"DECOY" not in b"".join(
        f.read_bytes() for f in asset.rglob("*.py") if f.stat().st_size < 10**6
    )
    assert (asset / "aws_lambda_powertools").is_dir()
    assert (asset / "redis").is_dir()
