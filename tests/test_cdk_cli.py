"""The `cdk` CLI used directly from the repo root, as CDK users do: no make, no variables.

After `make setup`, `npx cdk synth|diff|deploy` run the app with the venv's python (cdk.json)
and app.py bundles the Lambda asset from `.build/wheelhouse`. The runs drop every PIP_* and
CACHE_CONSTRUCTS_* variable `make test` may set and the venv and node_modules folders from
PATH; they only point the bundle cache at a folder of the test's own (so the first synth
really installs) and keep AWS out of reach: no credentials, no config files, the EC2 metadata
endpoint disabled, so diff and deploy stop where they need credentials and no call to AWS can
succeed. Each run has a timeout and its whole process group is killed on expiry.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLI_TIMEOUT_SECONDS = 900
NO_CREDENTIALS = "Unable to resolve AWS account to use"

pytestmark = pytest.mark.synth


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if not (ROOT / ".venv" / "bin" / "python").is_file() or not (ROOT / ".build").is_dir():
        pytest.fail("run `make setup` first")
    private = tmp_path_factory.mktemp("cli")
    hidden_paths = {str(ROOT / ".venv" / "bin"), str(ROOT / "node_modules" / ".bin")}
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PIP_", "CACHE_CONSTRUCTS_", "AWS_", "CDK_", "VIRTUAL_ENV"))
    }
    env.update(
        PATH=os.pathsep.join(
            p for p in os.environ.get("PATH", "").split(os.pathsep) if p not in hidden_paths
        ),
        CACHE_CONSTRUCTS_BUNDLE_CACHE=str(private / "bundle-cache"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(private / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(private / "no-aws-credentials"),
        # The CLI's own calls home (telemetry, the npm version check) are not under test.
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="true",
    )
    return env


def _cdk(args: Sequence[str], env: dict[str, str]) -> tuple[int, str, float]:
    """Run ``npx cdk <args> --no-notices`` from the repo root: (exit code, output, seconds)."""
    started = time.monotonic()
    process = subprocess.Popen(
        ["npx", "cdk", *args, "--no-notices"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=CLI_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"cdk {' '.join(args)} ran over {CLI_TIMEOUT_SECONDS} s:\n{output[-4000:]}")
    return process.returncode, output, time.monotonic() - started


def _function_asset(outdir: Path) -> Path:
    (asset,) = [
        p
        for p in outdir.iterdir()
        if p.name.startswith("asset.") and (p / "cache_constructs" / "product").is_dir()
    ]
    return asset


def _assert_bundled(outdir: Path) -> None:
    asset = _function_asset(outdir)
    assert (asset / "cache_constructs" / "product" / "handlers" / "read_handler.py").is_file()
    assert (asset / "amazondax").is_dir(), "the sdist-only requirement is in the bundle"
    assert list((asset / "wrapt").glob("*cpython-314-aarch64-linux-gnu.so"))


def test_synth_prod_into_a_directory(cli_env: dict[str, str], tmp_path: Path) -> None:
    outdir = tmp_path / "prod.out"

    code, output, seconds = _cdk(["synth", "-c", "env=prod", "-o", str(outdir), "--quiet"], cli_env)

    assert code == 0, output[-4000:]
    template = json.loads((outdir / "CachedProductService-prod.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) >= 4
    _assert_bundled(outdir)
    report = json.loads((outdir / "validation-report.json").read_text())
    assert [(r["pluginName"], r["conclusion"]) for r in report["pluginReports"]] == [
        ("AwsSolutions", "success")
    ]
    print(f"npx cdk synth -c env=prod: {seconds:.1f} s")


@pytest.mark.parametrize(
    "command",
    [["deploy", "--require-approval", "never"], ["diff"]],
    ids=["deploy", "diff"],
)
def test_diff_and_deploy_bundle_then_stop_at_credentials(
    command: list[str], cli_env: dict[str, str], tmp_path: Path
) -> None:
    outdir = tmp_path / "dev.out"

    code, output, _ = _cdk([*command, "-c", "env=dev", "-o", str(outdir)], cli_env)

    assert code != 0
    assert NO_CREDENTIALS in output, output[-4000:]
    assert "Failed to bundle" not in output and "Could not bundle" not in output
    _assert_bundled(outdir)
