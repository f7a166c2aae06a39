"""Local Python bundling for Lambda: pinned wheels for the Lambda platform plus your code.

No Docker. On the synthesizing machine pip installs a requirements file for the function's
runtime and architecture (``--platform manylinux2014_aarch64 --python-version 3.14
--implementation cp --only-binary=:all: --no-deps``) into the asset, then the code files are
copied next to them. The wheels come from, in this order:

1. a directory of wheels given by the ``wheelhouse`` prop (offline, ``--no-index``);
2. the directory named by the ``CACHE_CONSTRUCTS_WHEELHOUSE`` environment variable (offline);
3. the package index pip is configured for (PyPI, or ``PIP_INDEX_URL``/``PIP_FIND_LINKS``/
   ``PIP_NO_INDEX``, which keep working): the wheels for the Lambda platform are downloaded,
   and a requirement published as an sdist only is built into a wheel on the way
   (``pip wheel --no-deps``) if it is pure Python.

The installed requirements are cached by the hash of the requirements (their text, without
comments) and the platform, under ``$CACHE_CONSTRUCTS_BUNDLE_CACHE`` or
``$XDG_CACHE_HOME/cache-constructs/bundles`` (``~/.cache/...``), so a second synth runs no
pip at all, even into a fresh ``cdk.out``. The requirements must pin every transitive
dependency (``--no-deps``: the bundle is exactly what the file says).

``python_code(source_dir, requirements=...)`` gives a ``lambda_.Code`` for a function of your
own; ``PythonLocalBundling`` is the ``ILocalBundling`` behind it. ``python -m
cache_constructs.bundling wheelhouse -r requirements.txt -o DIR`` fills a wheel directory for
an offline machine.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

WHEELHOUSE_ENV = "CACHE_CONSTRUCTS_WHEELHOUSE"
"""Names a directory of wheels to bundle from, offline, when no ``wheelhouse`` prop is given."""
BUNDLE_CACHE_ENV = "CACHE_CONSTRUCTS_BUNDLE_CACHE"
"""Names the directory of cached installed requirements (default under XDG_CACHE_HOME)."""

# Bumped when the cached layout changes, so an old cache entry is never reused.
_CACHE_FORMAT = "1"
_PIP_TAIL_CHARS = 4000
DEFAULT_EXCLUDE: tuple[str, ...] = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".pytest_cache",
    ".mypy_cache",
    "*.egg-info",
    ".venv",
    ".git",
)
"""Never copied into an asset: bytecode of this machine's Python, tool caches, VCS data."""

_PIP_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
_NESTED_FILE_OPTION = re.compile(r"^(-r|-c|--requirement|--constraint)\b")
_COMMENT = re.compile(r"(^|\s)#.*$")


class BundlingError(RuntimeError):
    """The requirements could not be installed for Lambda (names every way to fix it)."""


@dataclass(frozen=True)
class LambdaPythonPlatform:
    """What pip installs for: a Lambda Python runtime on one architecture.

    :param python_version: the runtime's Python, e.g. ``"3.14"``.
    :param pip_platform: pip's platform tag, e.g. ``"manylinux2014_aarch64"``.
    :param implementation: pip's implementation tag. Default ``"cp"`` (CPython).
    """

    python_version: str
    pip_platform: str
    implementation: str = "cp"

    @classmethod
    def of(
        cls, runtime: lambda_.Runtime, architecture: lambda_.Architecture
    ) -> LambdaPythonPlatform:
        """The platform of a function with this runtime and architecture."""
        if runtime.family != lambda_.RuntimeFamily.PYTHON or not runtime.name.startswith("python"):
            raise ValueError(f"runtime must be a Python runtime; got {runtime.name}")
        if architecture.name not in _PIP_PLATFORMS:
            raise ValueError(
                f"architecture must be one of {sorted(_PIP_PLATFORMS)}; got {architecture.name}"
            )
        return cls(
            python_version=runtime.name.removeprefix("python"),
            pip_platform=_PIP_PLATFORMS[architecture.name],
        )

    def pip_options(self) -> list[str]:
        """pip's options that select wheels of this platform."""
        return [
            "--platform",
            self.pip_platform,
            "--python-version",
            self.python_version,
            "--implementation",
            self.implementation,
        ]

    def __str__(self) -> str:
        return f"{self.pip_platform}/{self.implementation}{self.python_version}"


LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
"""The newest Python runtime aws-cdk-lib knows (what cdk-nag's AwsSolutions-L1 asks for)."""
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
DEFAULT_PLATFORM = LambdaPythonPlatform.of(LAMBDA_RUNTIME, LAMBDA_ARCHITECTURE)


def requirement_lines(requirements: Path) -> list[str]:
    """The requirement lines of ``requirements`` without comments and blank lines.

    They are the bundle's identity, so a file that includes others (``-r``/``-c``) is refused:
    a change in the included file would not change the cache key.
    """
    lines: list[str] = []
    for number, raw in enumerate(requirements.read_text().splitlines(), start=1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        if _NESTED_FILE_OPTION.match(line):
            raise ValueError(
                f"requirements {requirements}:{number}: {line.split()[0]} is not supported; "
                "list every pinned requirement in this one file"
            )
        lines.append(line)
    return lines


def default_cache_dir() -> Path:
    """``$CACHE_CONSTRUCTS_BUNDLE_CACHE``, else ``$XDG_CACHE_HOME/cache-constructs/bundles``."""
    explicit = os.environ.get(BUNDLE_CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "cache-constructs" / "bundles"


def run_pip(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run this interpreter's pip with ``args`` (the one place pip is started)."""
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "pip", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )


@dataclass(frozen=True)
class WheelSource:
    """Where the wheels come from: a directory (offline) or, with ``directory`` None, pip's index.

    :param directory: the wheel directory, or None for the package index.
    :param origin: how it was chosen, for messages (``"the wheelhouse prop"``, ...).
    """

    directory: Path | None
    origin: str

    @classmethod
    def resolve(cls, wheelhouse: Path | None) -> WheelSource:
        """The ``wheelhouse`` prop, else ``$CACHE_CONSTRUCTS_WHEELHOUSE``, else the index."""
        if wheelhouse is not None:
            return cls(Path(wheelhouse), f"the wheelhouse prop ({wheelhouse})")
        from_env = os.environ.get(WHEELHOUSE_ENV)
        if from_env:
            directory = Path(from_env)
            if not directory.is_dir():
                raise BundlingError(
                    f"{WHEELHOUSE_ENV}={from_env} is not a directory. Point it at a directory "
                    "of wheels, or unset it to download from the package index."
                )
            return cls(directory, f"{WHEELHOUSE_ENV} ({from_env})")
        return cls(None, "the package index pip is configured for (PyPI unless PIP_* say else)")


def check_wheelhouse(prop: str, wheelhouse: str | Path | None) -> Path | None:
    """``wheelhouse`` as a Path, or None; ValueError naming ``prop`` if it is no directory."""
    if wheelhouse is None:
        return None
    path = Path(wheelhouse)
    if not path.is_dir():
        raise ValueError(f"{prop} must be a directory of wheels; {path} is not a directory")
    return path


class LambdaDependencies:
    """The installed requirements of one file for one platform, cached by their hash.

    :param requirements: the pinned requirements file (every transitive dependency listed).
    :param platform: what to install for.
    :param wheelhouse: a directory of wheels (the prop); None to use the environment or index.
    :param cache_dir: where installed requirements are kept. Default `default_cache_dir()`.
    """

    def __init__(
        self,
        requirements: Path,
        *,
        platform: LambdaPythonPlatform = DEFAULT_PLATFORM,
        wheelhouse: Path | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.requirements = requirements
        self.platform = platform
        self.wheelhouse = wheelhouse
        self.cache_dir = cache_dir

    @property
    def key(self) -> str:
        """The cache key: the requirement lines and the platform (not where wheels come from)."""
        digest = hashlib.sha256()
        for part in (_CACHE_FORMAT, str(self.platform), *requirement_lines(self.requirements)):
            digest.update(part.encode() + b"\n")
        return digest.hexdigest()

    def install_into(self, target: Path) -> None:
        """Put the installed requirements into ``target``, from the cache when they are there."""
        cached = self._cached()
        shutil.copytree(cached, target, dirs_exist_ok=True, symlinks=True)

    def _cached(self) -> Path:
        root = self.cache_dir or default_cache_dir()
        entry = root / self.key
        if entry.is_dir():
            return entry
        root.mkdir(parents=True, exist_ok=True)
        # Built beside the entry and renamed into place: an entry is complete or absent, and a
        # concurrent synth that finishes first wins without either seeing half a directory.
        work = Path(tempfile.mkdtemp(prefix=f".{self.key[:12]}-", dir=root))
        try:
            site = work / "site"
            self._install(site, work / "wheels")
            try:
                site.rename(entry)
            except OSError:
                if not entry.is_dir():
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return entry

    def _install(self, site: Path, download_dir: Path) -> None:
        source = WheelSource.resolve(self.wheelhouse)
        wheels = source.directory
        if wheels is None:
            wheels = download_dir
            collect_wheels(self.requirements, wheels, platform=self.platform, source=source)
        result = run_pip(
            [
                "install",
                "--quiet",
                "--no-deps",
                "--no-compile",
                "--no-index",
                "--find-links",
                str(wheels),
                "--only-binary=:all:",
                *self.platform.pip_options(),
                "--target",
                str(site),
                "-r",
                str(self.requirements),
            ]
        )
        if result.returncode != 0:
            raise bundling_error(self.requirements, self.platform, source, "pip install", result)


def collect_wheels(
    requirements: Path,
    dest: Path,
    *,
    platform: LambdaPythonPlatform = DEFAULT_PLATFORM,
    source: WheelSource | None = None,
) -> None:
    """Download a wheel of every requirement for ``platform`` into ``dest`` from the index.

    ``--prefer-binary`` (allowed with ``--no-deps``) takes the platform's wheel where one is
    published and the sdist otherwise; each sdist is then built with ``pip wheel --no-deps``
    and kept only if the wheel is pure Python (a compiled one would be for this machine).
    """
    source = source or WheelSource(None, "the package index pip is configured for")
    dest.mkdir(parents=True, exist_ok=True)
    result = run_pip(
        [
            "download",
            "--quiet",
            "--no-deps",
            "--prefer-binary",
            *platform.pip_options(),
            "--dest",
            str(dest),
            "-r",
            str(requirements),
        ]
    )
    if result.returncode != 0:
        raise bundling_error(requirements, platform, source, "pip download", result)
    for sdist in sorted(_sdists(dest)):
        _build_pure_wheel(sdist, dest, requirements, platform, source)
        sdist.unlink()


def _sdists(directory: Path) -> Iterator[Path]:
    return (p for p in directory.iterdir() if p.name.endswith((".tar.gz", ".zip")))


def is_pure_python_wheel(wheel: Path) -> bool:
    """True when the wheel's tags say it runs on any platform (``...-none-any.whl``)."""
    parts = wheel.name.removesuffix(".whl").split("-")
    return len(parts) >= 5 and parts[-2] == "none" and parts[-1] == "any"


def _build_pure_wheel(
    sdist: Path,
    dest: Path,
    requirements: Path,
    platform: LambdaPythonPlatform,
    source: WheelSource,
) -> None:
    with tempfile.TemporaryDirectory(prefix="wheel-", dir=dest) as built_dir:
        result = run_pip(["wheel", "--quiet", "--no-deps", "--wheel-dir", built_dir, str(sdist)])
        if result.returncode != 0:
            raise bundling_error(
                requirements, platform, source, f"building a wheel of {sdist.name}", result
            )
        for wheel in Path(built_dir).glob("*.whl"):
            if not is_pure_python_wheel(wheel):
                raise BundlingError(
                    f"{sdist.name} has no wheel for {platform} on the package index and its "
                    f"sdist is not pure Python (it builds {wheel.name}). " + _remedies(requirements)
                )
            shutil.move(wheel, dest / wheel.name)


def _remedies(requirements: Path) -> str:
    return (
        f"Bundling {requirements} needs one of: a directory of wheels for the Lambda platform, "
        f"given by the `wheelhouse` prop or the {WHEELHOUSE_ENV} environment variable "
        "(`python -m cache_constructs.bundling wheelhouse -r <requirements> -o <dir>` fills "
        "one on a machine with access); or access to a package index (PyPI, or the one "
        "PIP_INDEX_URL / PIP_FIND_LINKS name)."
    )


def bundling_error(
    requirements: Path,
    platform: LambdaPythonPlatform,
    source: WheelSource,
    step: str,
    result: subprocess.CompletedProcess[str],
) -> BundlingError:
    """The error of a failed pip step: what failed, what was tried, the fixes, pip's tail."""
    output = (result.stdout or "") + (result.stderr or "")
    return BundlingError(
        f"Could not bundle the Lambda requirements {requirements} for {platform}: {step} "
        f"failed (exit {result.returncode}). Tried: {source.origin}.\n"
        + _remedies(requirements)
        + f"\npip's output (last lines):\n{output[-_PIP_TAIL_CHARS:]}"
    )


def files_under(source_dir: Path, exclude: Iterable[str] = DEFAULT_EXCLUDE) -> dict[str, Path]:
    """Every file below ``source_dir`` by its relative POSIX path, skipping ``exclude``.

    A pattern excludes a file when it matches the file's name or any folder on its path.
    """
    patterns = tuple(exclude)
    files: dict[str, Path] = {}
    for path in sorted(source_dir.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(source_dir)
        if any(Path(part).match(pattern) for part in relative.parts for pattern in patterns):
            continue
        files[relative.as_posix()] = path
    return files


def asset_hash(
    files: Mapping[str, Path], requirements: Path | None, platform: LambdaPythonPlatform
) -> str:
    """The bundle's identity: every file's path and bytes, the requirements, the platform."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].read_bytes() + b"\0")
    if requirements is not None:
        digest.update("\n".join(requirement_lines(requirements)).encode() + b"\0")
    digest.update(str(platform).encode())
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class PythonLocalBundling:
    """Builds a Python asset on this machine: the requirements for Lambda, then the files.

    It bundles or raises `BundlingError`, so the Docker image of the bundling options is
    never used.

    :param files: the asset's files, by their path in the asset.
    :param requirements: the pinned requirements file, or None for code without dependencies.
    :param platform: what the requirements are installed for.
    :param wheelhouse: a directory of wheels to bundle from offline. Default: the
        ``CACHE_CONSTRUCTS_WHEELHOUSE`` directory, else the package index.
    :param cache_dir: the cache of installed requirements. Default `default_cache_dir()`.
    """

    def __init__(
        self,
        *,
        files: Mapping[str, Path],
        requirements: Path | None,
        platform: LambdaPythonPlatform = DEFAULT_PLATFORM,
        wheelhouse: Path | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.files = dict(files)
        self.dependencies = (
            LambdaDependencies(
                requirements, platform=platform, wheelhouse=wheelhouse, cache_dir=cache_dir
            )
            if requirements is not None
            else None
        )

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        """Install the requirements into ``output_dir`` and copy the files; True when done."""
        out = Path(output_dir)
        if self.dependencies is not None:
            self.dependencies.install_into(out)
        for name, file in self.files.items():
            destination = out / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, destination)
        return True


def bundled_code(
    files: Mapping[str, Path],
    *,
    source_dir: Path,
    requirements: str | Path | None = None,
    runtime: lambda_.Runtime = LAMBDA_RUNTIME,
    architecture: lambda_.Architecture = LAMBDA_ARCHITECTURE,
    wheelhouse: str | Path | None = None,
) -> lambda_.Code:
    """A ``lambda_.Code`` of ``files`` plus ``requirements``, bundled locally.

    :param files: the asset's files by their path in the asset (e.g. ``files_under(dir)``).
    :param source_dir: the folder the files come from (the asset's source path).
    :param requirements: the pinned requirements file. Default: none.
    :param runtime: the function's runtime. Default Python 3.14.
    :param architecture: the function's architecture. Default arm64.
    :param wheelhouse: a directory of wheels to bundle from offline. Default: the
        ``CACHE_CONSTRUCTS_WHEELHOUSE`` directory, else the package index.
    """
    platform = LambdaPythonPlatform.of(runtime, architecture)
    requirements_path = Path(requirements) if requirements is not None else None
    if requirements_path is not None and not requirements_path.is_file():
        raise ValueError(f"requirements must be a file; {requirements_path} is not a file")
    local = PythonLocalBundling(
        files=files,
        requirements=requirements_path,
        platform=platform,
        wheelhouse=check_wheelhouse("wheelhouse", wheelhouse),
    )
    return lambda_.Code.from_asset(
        str(source_dir),
        # The files, requirements and platform identify the bundle, so a synth with all of them
        # unchanged reuses cdk.out/asset.<hash> (and a fresh cdk.out the cached requirements).
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash(files, requirements_path, platform),
        bundling=BundlingOptions(
            # Required by the API, never pulled: PythonLocalBundling bundles or raises.
            image=runtime.bundling_image,
            local=local,
        ),
    )


def python_code(
    source_dir: str | Path,
    *,
    requirements: str | Path | None = None,
    runtime: lambda_.Runtime = LAMBDA_RUNTIME,
    architecture: lambda_.Architecture = LAMBDA_ARCHITECTURE,
    wheelhouse: str | Path | None = None,
    exclude: Iterable[str] = DEFAULT_EXCLUDE,
) -> lambda_.Code:
    """The code of a Python function: the files under ``source_dir`` and its requirements.

    :param source_dir: the function's folder; its layout is kept (handler
        ``app.handler`` for ``source_dir/app.py``).
    :param requirements: the pinned requirements file (every transitive dependency; boto3
        may be left out, the runtime provides it). Default: none.
    :param runtime: the function's runtime. Default Python 3.14.
    :param architecture: the function's architecture. Default arm64.
    :param wheelhouse: a directory of wheels to bundle from offline. Default: the
        ``CACHE_CONSTRUCTS_WHEELHOUSE`` directory, else the package index.
    :param exclude: file and folder patterns left out. Default `DEFAULT_EXCLUDE`.
    """
    source = Path(source_dir)
    if not source.is_dir():
        raise ValueError(f"source_dir must be a directory; {source} is not a directory")
    return bundled_code(
        files_under(source, exclude),
        source_dir=source,
        requirements=requirements,
        runtime=runtime,
        architecture=architecture,
        wheelhouse=wheelhouse,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cache_constructs.bundling wheelhouse -r FILE -o DIR``: fill a wheel dir."""
    parser = argparse.ArgumentParser(prog="python -m cache_constructs.bundling")
    commands = parser.add_subparsers(dest="command", required=True)
    wheelhouse = commands.add_parser(
        "wheelhouse",
        help="download (or build, for pure-Python sdists) a wheel of every requirement "
        "for the Lambda platform, for offline bundling from that directory",
    )
    wheelhouse.add_argument("-r", "--requirements", type=Path, required=True)
    wheelhouse.add_argument("-o", "--dest", type=Path, required=True)
    wheelhouse.add_argument("--python-version", default=DEFAULT_PLATFORM.python_version)
    wheelhouse.add_argument("--platform", default=DEFAULT_PLATFORM.pip_platform)
    args = parser.parse_args(argv)
    platform = LambdaPythonPlatform(python_version=args.python_version, pip_platform=args.platform)
    try:
        collect_wheels(args.requirements, args.dest, platform=platform)
    except (BundlingError, ValueError, OSError) as error:
        print(error, file=sys.stderr)
        return 1
    print(f"wheels for {platform} in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
