"""cache_constructs.bundling: offline from a wheel directory, from a package index on loopback
(an sdist-only requirement built on the way), the cache of installed requirements, and errors
that name every way to fix them.

pip runs for real (this venv's pip, the Lambda platform options). It never sees this
machine's pip config or the caller's PIP_* variables, and the default index is a closed
loopback port, so nothing here can reach the internet. The test packages are tiny real
wheels and an sdist with an in-tree build backend (tests/package_index.py); the one compiled
wheel is wrapt for manylinux2014_aarch64/cp3.14 from the repo's wheelhouse (`make setup`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import aws_cdk as cdk
import package_index
import pytest
from aws_cdk import assertions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_

from cache_constructs import bundling
from cache_constructs.bundling import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    BundlingError,
    LambdaDependencies,
    LambdaPythonPlatform,
    PythonLocalBundling,
    python_code,
)

ROOT = Path(__file__).resolve().parent.parent
REPO_WHEELHOUSE = ROOT / ".build" / "wheelhouse"
WRAPT = "wrapt-2.5.2-cp314-cp314-manylinux2014_aarch64"
REQUIREMENTS = """\
# one pure wheel, one sdist-only project, one compiled wheel for the Lambda platform
lambda-pure==1.0
sdist-only==2.0  # published as an sdist only
wrapt==2.5.2
"""
HANDLER = "def handler(event, context):\n    return {'statusCode': 200}\n"

pytestmark = pytest.mark.synth


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The distributions the index and wheel directories offer, by project."""
    found = sorted(REPO_WHEELHOUSE.glob(f"{WRAPT}*.whl"))
    if len(found) != 1:
        pytest.fail("the wheelhouse is missing: run `make setup` first")
    wrapt = found[0]
    built = tmp_path_factory.mktemp("dists")
    return {
        "lambda-pure": package_index.write_wheel(
            built, "lambda-pure", "1.0", {"lambda_pure/__init__.py": b"VALUE = 'pure'\n"}
        ),
        "sdist-only": package_index.write_sdist(
            built, "sdist-only", "2.0", {"sdist_only/__init__.py": b"VALUE = 'from sdist'\n"}
        ),
        "native-only": package_index.write_sdist(
            built,
            "native-only",
            "1.0",
            {"native_only/__init__.py": b"VALUE = 'native'\n"},
            wheel_tag="cp311-cp311-linux_x86_64",
        ),
        "wrapt": wrapt,
    }


@pytest.fixture
def pip_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No machine pip config, no caller PIP_*; the default index refuses; a fresh cache."""
    for name in list(os.environ):
        if name.startswith(("PIP_", "CACHE_CONSTRUCTS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "30")
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{_closed_port()}/simple/")
    cache = tmp_path / "bundle-cache"
    monkeypatch.setenv(bundling.BUNDLE_CACHE_ENV, str(cache))
    return cache


@pytest.fixture
def pip_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every pip invocation of the bundler (its arguments), in order."""
    calls: list[list[str]] = []
    real = bundling.run_pip

    def counting(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(list(args))
        return real(args)

    monkeypatch.setattr(bundling, "run_pip", counting)
    return calls


@pytest.fixture
def index(
    tmp_path: Path, dists: dict[str, Path], monkeypatch: pytest.MonkeyPatch, pip_env: Path
) -> Iterator[list[str]]:
    """A simple index on loopback offering every test distribution; yields its request log."""
    root = tmp_path / "index"
    for project, dist in dists.items():
        package_index.publish(root, project, dist)
    with package_index.serving(root) as (url, requests):
        monkeypatch.setenv("PIP_INDEX_URL", url)
        yield requests


@pytest.fixture
def function_dir(tmp_path: Path) -> Path:
    source = tmp_path / "function"
    source.mkdir()
    (source / "app.py").write_text(HANDLER)
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"not for Lambda")
    return source


def _requirements(tmp_path: Path, text: str = REQUIREMENTS) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


def _wheel_dir(tmp_path: Path, *dists: Path) -> Path:
    directory = tmp_path / "wheelhouse"
    directory.mkdir(exist_ok=True)
    for dist in dists:
        shutil.copy2(dist, directory / dist.name)
    return directory


def _synth(outdir: Path, code: lambda_.Code) -> Path:
    """Synthesize one function with ``code`` into ``outdir``; the asset folder."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Fn")
    lambda_.Function(
        stack,
        "Fn",
        runtime=LAMBDA_RUNTIME,
        architecture=LAMBDA_ARCHITECTURE,
        handler="app.handler",
        code=code,
    )
    app.synth()
    (asset,) = [p for p in outdir.iterdir() if p.name.startswith("asset.") and p.is_dir()]
    return asset


def _tree(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in directory.rglob("*")
        if p.is_file()
    }


def test_offline_from_the_wheelhouse_prop(
    pip_env: Path,
    pip_calls: list[list[str]],
    dists: dict[str, Path],
    function_dir: Path,
    tmp_path: Path,
) -> None:
    wheels = _wheel_dir(tmp_path, dists["lambda-pure"], dists["wrapt"])
    requirements = _requirements(tmp_path, "lambda-pure==1.0\nwrapt==2.5.2\n")

    asset = _synth(
        tmp_path / "cdk.out",
        python_code(function_dir, requirements=requirements, wheelhouse=wheels),
    )

    assert (asset / "app.py").read_text() == HANDLER
    assert (asset / "lambda_pure" / "__init__.py").read_text() == "VALUE = 'pure'\n"
    # The compiled wheel for Lambda, not for this machine's Python.
    assert list((asset / "wrapt").glob("*cpython-314-aarch64-linux-gnu.so"))
    assert not list(asset.rglob("__pycache__"))
    assert [call[0] for call in pip_calls] == ["install"]
    install = " ".join(pip_calls[0])
    for option in (
        "--no-index",
        f"--find-links {wheels}",
        "--only-binary=:all:",
        "--no-deps",
        "--platform manylinux2014_aarch64",
        "--python-version 3.14",
        "--implementation cp",
    ):
        assert option in install, option


def test_offline_from_the_environment_variable(
    pip_env: Path,
    dists: dict[str, Path],
    function_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wheels = _wheel_dir(tmp_path, dists["lambda-pure"])
    monkeypatch.setenv(bundling.WHEELHOUSE_ENV, str(wheels))
    out = tmp_path / "out"
    out.mkdir()
    bundler = PythonLocalBundling(
        files={"app.py": function_dir / "app.py"},
        requirements=_requirements(tmp_path, "lambda-pure==1.0\n"),
    )

    assert bundler.try_bundle(str(out), image=LAMBDA_RUNTIME.bundling_image) is True

    assert (out / "lambda_pure" / "__init__.py").is_file()
    assert (out / "app.py").read_text() == HANDLER


def test_from_a_package_index_building_an_sdist_only_requirement_then_from_the_cache(
    index: list[str],
    pip_env: Path,
    pip_calls: list[list[str]],
    function_dir: Path,
    tmp_path: Path,
) -> None:
    requirements = _requirements(tmp_path)

    first = _synth(tmp_path / "first", python_code(function_dir, requirements=requirements))

    assert (first / "sdist_only" / "__init__.py").read_text() == "VALUE = 'from sdist'\n"
    assert (first / "lambda_pure" / "__init__.py").is_file()
    assert list((first / "wrapt").glob("*cpython-314-aarch64-linux-gnu.so"))
    assert [call[0] for call in pip_calls] == ["download", "wheel", "install"]
    assert "--prefer-binary" in pip_calls[0] and "--only-binary=:all:" in pip_calls[2]
    assert any(path.endswith("sdist_only-2.0.tar.gz") for path in index)
    assert any(path.startswith("/simple/wrapt/") for path in index)

    calls, requests = len(pip_calls), len(index)
    # A second synth into a fresh cloud assembly: the installed requirements come from the
    # cache, so pip never runs and the index is never asked.
    second = _synth(tmp_path / "second", python_code(function_dir, requirements=requirements))

    assert len(pip_calls) == calls
    assert len(index) == requests
    assert _tree(second) == _tree(first)
    assert len([p for p in pip_env.iterdir() if not p.name.startswith(".")]) == 1


def test_pip_no_index_and_find_links_keep_working(
    pip_env: Path,
    pip_calls: list[list[str]],
    dists: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    links = _wheel_dir(tmp_path, dists["lambda-pure"], dists["sdist-only"], dists["wrapt"])
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    out = tmp_path / "out"
    out.mkdir()
    dependencies = LambdaDependencies(_requirements(tmp_path))

    dependencies.install_into(out)

    assert (out / "sdist_only" / "__init__.py").is_file()
    assert [call[0] for call in pip_calls] == ["download", "wheel", "install"]


def test_when_no_way_works_the_error_names_both_and_shows_pip(
    pip_env: Path, function_dir: Path, tmp_path: Path
) -> None:
    code = python_code(function_dir, requirements=_requirements(tmp_path))

    # Through a real synth: the message survives jsii's wrapping of the bundling callback.
    with pytest.raises(RuntimeError) as raised:
        _synth(tmp_path / "cdk.out", code)

    message = str(raised.value)
    assert "pip download failed" in message
    assert "Tried: the package index" in message
    assert "`wheelhouse` prop" in message and bundling.WHEELHOUSE_ENV in message
    assert "access to a package index" in message and "PIP_INDEX_URL" in message
    # pip's own words, from the tail of its output.
    assert "pip's output (last lines)" in message
    assert "lambda-pure==1.0" in message.split("pip's output (last lines)")[1]


def test_a_wheelhouse_lacking_a_requirement_names_both(
    pip_env: Path, dists: dict[str, Path], tmp_path: Path
) -> None:
    wheels = _wheel_dir(tmp_path, dists["lambda-pure"])
    dependencies = LambdaDependencies(
        _requirements(tmp_path, "lambda-pure==1.0\nwrapt==2.5.2\n"), wheelhouse=wheels
    )

    with pytest.raises(BundlingError) as raised:
        dependencies.install_into(tmp_path / "out")

    message = str(raised.value)
    assert f"Tried: the wheelhouse prop ({wheels})" in message
    assert bundling.WHEELHOUSE_ENV in message and "access to a package index" in message
    assert "wrapt" in message.split("pip's output")[1]
    assert list(pip_env.iterdir()) == [], "a failed build leaves nothing in the cache"


def test_an_sdist_that_is_not_pure_python_is_refused(index: list[str], tmp_path: Path) -> None:
    dependencies = LambdaDependencies(_requirements(tmp_path, "native-only==1.0\n"))

    with pytest.raises(BundlingError, match=r"native_only-1\.0\.tar\.gz .* not pure Python"):
        dependencies.install_into(tmp_path / "out")


def test_a_cache_entry_a_concurrent_synth_finished_first_is_kept(
    pip_env: Path,
    pip_calls: list[list[str]],
    dists: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wheels = _wheel_dir(tmp_path, dists["lambda-pure"])
    dependencies = LambdaDependencies(
        _requirements(tmp_path, "lambda-pure==1.0\n"), wheelhouse=wheels
    )
    entry = pip_env / dependencies.key
    counting = bundling.run_pip

    def other_synth_wins(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        result = counting(args)
        # Another synth publishes the same entry while this one is installing.
        (entry / "lambda_pure").mkdir(parents=True)
        (entry / "lambda_pure" / "__init__.py").write_text("VALUE = 'the other synth'\n")
        return result

    monkeypatch.setattr(bundling, "run_pip", other_synth_wins)
    out = tmp_path / "out"

    dependencies.install_into(out)

    assert (out / "lambda_pure" / "__init__.py").read_text() == "VALUE = 'the other synth'\n"
    assert sorted(p.name for p in pip_env.iterdir()) == [dependencies.key], "no leftovers"


def test_the_cli_fills_a_wheelhouse_that_then_bundles_offline(
    index: list[str], pip_calls: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requirements = _requirements(tmp_path)
    wheels = tmp_path / "filled"

    assert bundling.main(["wheelhouse", "-r", str(requirements), "-o", str(wheels)]) == 0

    names = sorted(p.name for p in wheels.iterdir())
    assert names == [
        "lambda_pure-1.0-py3-none-any.whl",
        "sdist_only-2.0-py3-none-any.whl",
        next(n for n in names if n.startswith(WRAPT)),
    ]
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{_closed_port()}/simple/")
    out = tmp_path / "out"
    LambdaDependencies(requirements, wheelhouse=wheels).install_into(out)
    assert (out / "sdist_only" / "__init__.py").is_file()


def test_the_cli_reports_a_failure_without_a_traceback(
    pip_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = _requirements(tmp_path, "lambda-pure==1.0\n")

    assert bundling.main(["wheelhouse", "-r", str(requirements), "-o", str(tmp_path / "w")]) == 1

    error = capsys.readouterr().err
    assert "pip download failed" in error and "Traceback" not in error


def test_the_cache_key_is_the_requirement_lines_and_the_platform(tmp_path: Path) -> None:
    base = LambdaDependencies(_requirements(tmp_path, "a==1\nb==2\n")).key
    commented = tmp_path / "commented.txt"
    commented.write_text("# pins\na==1  # why\n\nb==2\n")
    assert LambdaDependencies(commented).key == base
    bumped = tmp_path / "bumped.txt"
    bumped.write_text("a==1\nb==3\n")
    assert LambdaDependencies(bumped).key != base
    x86 = LambdaPythonPlatform.of(LAMBDA_RUNTIME, lambda_.Architecture.X86_64)
    assert LambdaDependencies(tmp_path / "requirements.txt", platform=x86).key != base


def test_a_requirements_file_that_includes_another_is_refused(tmp_path: Path) -> None:
    nested = tmp_path / "nested.txt"
    nested.write_text("a==1\n-r other.txt\n")

    with pytest.raises(ValueError, match=r"nested\.txt:2: -r is not supported"):
        LambdaDependencies(nested).key  # noqa: B018 - the property raises


def test_the_platform_follows_the_runtime_and_architecture() -> None:
    platform = LambdaPythonPlatform.of(lambda_.Runtime.PYTHON_3_12, lambda_.Architecture.X86_64)
    assert (platform.python_version, platform.pip_platform) == ("3.12", "manylinux2014_x86_64")
    assert str(bundling.DEFAULT_PLATFORM) == "manylinux2014_aarch64/cp3.14"
    with pytest.raises(ValueError, match="runtime must be a Python runtime; got nodejs"):
        LambdaPythonPlatform.of(lambda_.Runtime.NODEJS_22_X, LAMBDA_ARCHITECTURE)


def test_wheelhouse_values_that_are_no_directory_are_refused(
    pip_env: Path, function_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(ValueError, match="wheelhouse must be a directory of wheels"):
        python_code(function_dir, wheelhouse=missing)

    from cache_constructs import CachedProductService

    stack = cdk.Stack(cdk.App(context={"aws:cdk:bundling-stacks": []}), "S")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    with pytest.raises(ValueError, match="wheelhouse must be a directory of wheels"):
        CachedProductService(stack, "Products", vpc=vpc, wheelhouse=missing)

    monkeypatch.setenv(bundling.WHEELHOUSE_ENV, str(missing))
    dependencies = LambdaDependencies(_requirements(tmp_path, "a==1\n"))
    with pytest.raises(BundlingError, match=f"{bundling.WHEELHOUSE_ENV}=.* is not a directory"):
        dependencies.install_into(tmp_path / "out")


def test_unit_tests_skip_bundling_with_the_bundling_stacks_context(
    pip_env: Path,
    pip_calls: list[list[str]],
    dists: dict[str, Path],
    function_dir: Path,
    tmp_path: Path,
) -> None:
    requirements = _requirements(tmp_path, "lambda-pure==1.0\n")

    def function_code_of(context: dict[str, object], **props: Path) -> object:
        app = cdk.App(outdir=str(tmp_path / f"out{len(context)}"), context=context)
        stack = cdk.Stack(app, "Fn")
        lambda_.Function(
            stack,
            "Fn",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler="app.handler",
            code=python_code(function_dir, requirements=requirements, **props),
        )
        template = assertions.Template.from_stack(stack)
        template.resource_count_is("AWS::Lambda::Function", 1)
        (function,) = template.find_resources("AWS::Lambda::Function").values()
        return function["Properties"]["Code"]

    # No wheel directory and the index refuses: bundling would fail, so it must not run.
    skipped = function_code_of({"aws:cdk:bundling-stacks": []})
    assert pip_calls == []

    # The template of the skipped synth names the very asset a bundled synth builds.
    bundled = function_code_of({}, wheelhouse=_wheel_dir(tmp_path, dists["lambda-pure"]))
    assert len(pip_calls) == 1
    assert skipped == bundled


def test_cdk_context_json_skips_bundling_for_a_whole_test_run(
    pip_env: Path, function_dir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "assertions.py"
    script.write_text(
        "import sys\n"
        "import aws_cdk as cdk\n"
        "from aws_cdk import assertions, aws_lambda as lambda_\n"
        "from cache_constructs.bundling import python_code\n"
        "stack = cdk.Stack(cdk.App(), 'Fn')\n"
        "code = python_code(sys.argv[1], requirements=sys.argv[2])\n"
        "lambda_.Function(stack, 'Fn', runtime=lambda_.Runtime.PYTHON_3_14,\n"
        "                 handler='app.handler', code=code)\n"
        "assertions.Template.from_stack(stack).resource_count_is('AWS::Lambda::Function', 1)\n"
    )
    env = {**os.environ, "CDK_CONTEXT_JSON": '{"aws:cdk:bundling-stacks": []}'}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])

    result = subprocess.run(
        [sys.executable, str(script), str(function_dir), str(_requirements(tmp_path))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert not pip_env.exists(), "nothing was bundled, so nothing was cached"
