"""`python -m local_stack [--port N] [--seed N] ...`: run the product API on localhost.

Prints one ready line (`local stack ready: <api_url>`) once `<state_dir>/stack.json` exists,
then one line per request. SIGINT/SIGTERM stop every child and exit 0 (see docs/local.md).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

_NODE_BIN = Path(__file__).resolve().parent.parent / "node_modules" / ".bin"
if _NODE_BIN.is_dir():
    # aws-cdk-lib (imported for CachePolicy) starts jsii on the first `node` on PATH: use the
    # project's pinned Node, as the Makefile does, not an older system one.
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

from local_stack.stack import LocalStack, StackOptions  # noqa: E402
from local_stack.stream_poller import EventSourceSettings  # noqa: E402


class _StopRequested(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM while the stack is starting."""


def parse_args(argv: list[str] | None = None) -> StackOptions:
    """Flags win over environment variables (PORT, REDIS_URL, LOCAL_STATE_DIR)."""
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
    # A string default goes through `type` too: a bad PORT is an argparse error naming --port.
    parser.add_argument("--port", type=int, default=os.environ.get("PORT", "8080"))
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    parser.add_argument("--seed", type=int, default=0, help="load N sample products")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or None)
    parser.add_argument("--dynamodb-port", type=int, default=0, help="moto port (0: free)")
    parser.add_argument(
        "--state-dir", type=Path, default=Path(os.environ.get("LOCAL_STATE_DIR", ".local"))
    )
    parser.add_argument("--table-name", default="products-local")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "--l1-ttl", type=int, default=None, help="override the L1 TTL of the cached routes (s)"
    )
    # Defaults: the deployed event source mapping's (EventSourceSettings mirrors it).
    parser.add_argument("--stream-batch-size", type=int, default=EventSourceSettings.batch_size)
    parser.add_argument("--stream-max-retries", type=int, default=EventSourceSettings.max_retries)
    args = parser.parse_args(argv)
    for name in ("port", "seed", "dynamodb_port"):
        value = getattr(args, name)
        if not 0 <= value <= (65535 if name != "seed" else 100_000):
            parser.error(f"--{name.replace('_', '-')} out of range: {value}")
    try:
        settings = EventSourceSettings(
            batch_size=args.stream_batch_size, max_retries=args.stream_max_retries
        )
    except ValueError as exc:
        parser.error(str(exc))
    return StackOptions(
        state_dir=args.state_dir,
        host=args.host,
        port=args.port,
        region=args.region,
        table_name=args.table_name,
        redis_url=args.redis_url,
        dynamodb_port=args.dynamodb_port,
        seed=args.seed,
        l1_ttl_seconds=args.l1_ttl,
        event_source=settings,
    )


def configure_logging(state_dir: Path) -> None:
    """Every part logs to `<state_dir>/*.log`; the terminal gets request lines and problems."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    main_log = logging.FileHandler(state_dir / "local_stack.log")
    main_log.setFormatter(fmt)
    root.addHandler(main_log)
    problems = logging.StreamHandler(sys.stderr)
    problems.setLevel(logging.WARNING)
    problems.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(problems)

    poller_log = logging.FileHandler(state_dir / "stream-poller.log")
    poller_log.setFormatter(fmt)
    logging.getLogger("local_stack.stream_poller").addHandler(poller_log)

    access = logging.getLogger("local_stack.access")
    access.propagate = False
    terminal = logging.StreamHandler(sys.stdout)
    terminal.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(terminal)
    access_file = logging.FileHandler(state_dir / "api.log")
    access_file.setFormatter(fmt)
    access.addHandler(access_file)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    configure_logging(options.state_dir)
    stack = LocalStack(options)
    stop = threading.Event()
    starting = True

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        if starting:
            raise _StopRequested(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        try:
            info = stack.start()
        except _StopRequested:
            return 0
        except Exception as exc:
            logging.getLogger("local_stack").exception("start failed")
            print(f"local stack failed to start: {exc}", file=sys.stderr, flush=True)
            return 1
        starting = False
        print(
            f"local stack ready: {info['api_url']} "
            f"(details in {stack.stack_file}, logs in {stack.state_dir}/*.log)",
            flush=True,
        )
        stop.wait()
        return 0
    finally:
        # Ignore further signals: a second Ctrl-C must not interrupt the orderly stop.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
        print("local stack stopped", flush=True)


def run() -> None:
    """Run `main` and exit without interpreter teardown once every child is stopped.

    The supervisor's own teardown (aws-cdk-lib's jsii kernel, imported for CachePolicy) can
    take seconds on a busy machine and would eat into the 5 s stop budget; by now logs are
    flushed and every child has been stopped, so there is nothing left to clean up.
    """
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
