"""The wheel carries the constructs AND the Lambda code: a consumer's app that installed it bundles.

Builds the wheel from a copy of the project, installs it with its dependencies into a fresh
venv outside the repo (pip's cache), and runs the real `cdk synth` (the CLI from
node_modules, bundling on, from the wheelhouse) on a consumer app there: two services on one
VPC, one of them on an imported table, an API subclass, decoy `lambda_src/` and `handlers/`
folders beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".build" / "wheelhouse"

pytestmark = pytest.mark.synth

APP = '''
"""A consumer's own CDK app, written from docs/constructs.md: two services on one VPC (one on
an imported table), an à-la-carte API subclass, a dashboard handed a whole service."""

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs

from cache_constructs import (
    CacheDashboard,
    CachedProductService,
    CachedRestApi,
    CachedRestApiProps,
    CachePolicy,
)

CATALOG_TABLE = "arn:aws:dynamodb:eu-west-1:111122223333:table/catalog"


class ShopApi(CachedRestApi):
    """A subclass that replaces one building block: a one-week access log."""

    def _build_access_log_group(self):
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
products = CachedProductService(stack, "Products", vpc=vpc, enable_dax=False)
catalog_table = dynamodb.Table.from_table_attributes(
    stack,
    "CatalogTable",
    table_arn=CATALOG_TABLE,
    table_stream_arn=f"{CATALOG_TABLE}/stream/2026-01-01T00:00:00.000",
)
catalog = CachedProductService(
    stack,
    "Catalog",
    vpc=vpc,
    table=catalog_table,
    enable_dax=False,
    rest_api_props=CachedRestApiProps(stage_cache_enabled=False, web_acl_enabled=False),
)
api = ShopApi(stack, "ShopApi", props=CachedRestApiProps(web_acl_enabled=False))
api.add_cached_route(
    api.root.add_resource("featured"),
    "GET",
    apigateway.LambdaIntegration(products.list_function),
    policy=CachePolicy.STATIC,
)
CacheDashboard(stack, "Dashboard", sources=products)
app.synth()
'''


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


@pytest.fixture(scope="module")
def consumer_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the built wheel and its dependencies (pip's cache), nothing else."""
    venv = tmp_path_factory.mktemp("consumer") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    # The wheel's dependencies come from the package index (pip's cache makes it fast): the
    # PIP_NO_INDEX/PIP_FIND_LINKS that `make test` sets for bundling would hide them.
    install_env = {
        k: v for k, v in os.environ.items() if k not in ("PIP_NO_INDEX", "PIP_FIND_LINKS")
    }
    result = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=install_env,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return venv


def test_a_consumer_app_synthesizes_with_the_cdk_cli_and_real_bundling(
    consumer_venv: Path, tmp_path: Path
) -> None:
    python = consumer_venv / "bin" / "python"
    app_dir = tmp_path / "shop"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(APP)
    (app_dir / "cdk.json").write_text(json.dumps({"app": f"{python} app.py"}))
    # Folders a consumer's app may well have: none of them may end up in the asset.
    for decoy in ("lambda_src", "handlers", "runtime"):
        (app_dir / decoy).mkdir()
        (app_dir / decoy / "__init__.py").write_text("DECOY = True\n")
        (app_dir / decoy / "read_handler.py").write_text("DECOY = True\n")
    outdir = tmp_path / "cdk.out"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))},
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(WHEELHOUSE),
        "CACHE_CONSTRUCTS_WHEELHOUSE": str(WHEELHOUSE),
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "-o", str(outdir)],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    site = Path(
        subprocess.run(
            [
                str(python),
                "-c",
                "import cache_constructs, pathlib; "
                "print(pathlib.Path(cache_constructs.__file__).parent.parent)",
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        ).stdout.strip()
    )
    assert site.is_relative_to(consumer_venv)
    template = json.loads((outdir / "Shop.template.json").read_text())
    resources = template["Resources"]

    def of_type(type_: str) -> dict[str, dict]:
        return {k: r for k, r in resources.items() if r["Type"] == type_}

    # One DynamoDB gateway endpoint and one Lambda interface endpoint (push) for the VPC,
    # however many services use them.
    endpoints = [
        e["Properties"]["VpcEndpointType"] for e in of_type("AWS::EC2::VPCEndpoint").values()
    ]
    assert sorted(endpoints) == ["Gateway", "Interface"]
    # The imported table is the catalog's: in its grants and its stream mapping, never built.
    assert len(of_type("AWS::DynamoDB::Table")) == 1  # the products table only
    catalog_grants = json.dumps(
        [p for k, p in of_type("AWS::IAM::Policy").items() if k.startswith("Catalog")]
    )
    assert "arn:aws:dynamodb:eu-west-1:111122223333:table/catalog" in catalog_grants
    assert "table/catalog/index/category-index" in catalog_grants
    mappings = [
        m["Properties"]["EventSourceArn"]
        for m in of_type("AWS::Lambda::EventSourceMapping").values()
    ]
    assert (
        "arn:aws:dynamodb:eu-west-1:111122223333:table/catalog/stream/2026-01-01T00:00:00.000"
        in mappings
    )
    functions = of_type("AWS::Lambda::Function")
    # Four per service, and each service's push publisher (outside the VPC).
    assert len([k for k in functions if k.startswith(("Products", "Catalog"))]) == 10
    publisher = "cache_constructs/handlers/push_publisher_handler.py"

    # The asset holds the library's handlers (the installed copy), not the app's folders.
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
    assert (asset / publisher).read_bytes() == (site / publisher).read_bytes()
    assert not any((asset / decoy).exists() for decoy in ("lambda_src", "handlers", "runtime"))
    assert b"DECOY" not in b"".join(
        f.read_bytes() for f in asset.rglob("*.py") if f.stat().st_size < 10**6
    )
    assert (asset / "aws_lambda_powertools").is_dir()
    assert (asset / "redis").is_dir()
    # Every function of both services runs that one asset.
    assets = {
        json.dumps(f["Properties"]["Code"])
        for k, f in functions.items()
        if k.startswith(("Products", "Catalog"))
    }
    assert len(assets) == 1
