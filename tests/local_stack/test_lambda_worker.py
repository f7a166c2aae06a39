"""Function workers behave like Lambda execution environments."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.lambda_worker import FunctionSpec, InvocationError, LambdaWorker

CODE_ROOT = Path(__file__).parent / "worker_code"


def _worker(tmp_path: Path, handler: str, **spec: object) -> LambdaWorker:
    worker = LambdaWorker(
        FunctionSpec(
            name=handler.rsplit(".", 1)[-1],
            handler=f"sample_functions.{handler}",
            code_root=CODE_ROOT,
            environment={"SAMPLE_SETTING": "from-spec"},
            **spec,  # type: ignore[arg-type]
        ),
        log_path=tmp_path / f"{handler}.log",
    )
    worker.start()
    worker.wait_ready()
    return worker


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[LambdaWorker]]:
    started: list[LambdaWorker] = []
    yield started
    for worker in started:
        worker.stop()


def test_each_worker_is_a_process_with_its_own_module_state(
    tmp_path: Path, workers: list[LambdaWorker]
) -> None:
    first, second = _worker(tmp_path, "count"), _worker(tmp_path, "count")
    workers += [first, second]

    results = [first.invoke({"n": 1}), first.invoke({"n": 2}), second.invoke({"n": 3})]

    assert [r["count"] for r in results] == [1, 2, 1]
    assert results[0]["pid"] == first.pid != second.pid != os.getpid()
    assert results[0]["env"] == "from-spec"
    assert results[1]["echo"] == {"n": 2}
    assert 0 < results[0]["remaining_ms"] <= 10_000


def test_request_id_reaches_the_context_and_the_log(
    tmp_path: Path, workers: list[LambdaWorker]
) -> None:
    worker = _worker(tmp_path, "count")
    workers.append(worker)

    assert worker.invoke({}, request_id="req-123")["request_id"] == "req-123"
    log = (tmp_path / "count.log").read_text()
    assert "INIT_REPORT Init Duration:" in log
    assert "START RequestId: req-123" in log
    assert "REPORT RequestId: req-123" in log


def test_handler_exception_is_an_invocation_error_and_the_worker_lives_on(
    tmp_path: Path, workers: list[LambdaWorker]
) -> None:
    worker = _worker(tmp_path, "fail")
    workers.append(worker)
    pid = worker.pid

    for _ in range(2):
        with pytest.raises(InvocationError) as error:
            worker.invoke({})
        assert error.value.error_type == "ValueError"
        assert "handler said no" in error.value.message
    assert worker.pid == pid
    assert "ValueError: handler said no" in (tmp_path / "fail.log").read_text()


def test_result_that_is_not_json_is_a_marshal_error(
    tmp_path: Path, workers: list[LambdaWorker]
) -> None:
    worker = _worker(tmp_path, "unserialisable")
    workers.append(worker)

    with pytest.raises(InvocationError) as error:
        worker.invoke({})
    assert error.value.error_type == "Runtime.MarshalError"


def test_timeout_replaces_the_environment(tmp_path: Path, workers: list[LambdaWorker]) -> None:
    worker = _worker(tmp_path, "hang", timeout_seconds=0.3)
    workers.append(worker)
    old_pid = worker.pid

    with pytest.raises(InvocationError) as error:
        worker.invoke({})

    assert error.value.error_type == "Sandbox.Timedout"
    assert worker.pid != old_pid  # a fresh environment (cold start) took its place
    with pytest.raises(ProcessLookupError):
        os.kill(old_pid, 0)  # type: ignore[arg-type]


def test_crash_replaces_the_environment(tmp_path: Path, workers: list[LambdaWorker]) -> None:
    worker = _worker(tmp_path, "crash")
    workers.append(worker)
    old_pid = worker.pid

    with pytest.raises(InvocationError) as error:
        worker.invoke({})

    assert error.value.error_type == "Runtime.ExitError"
    assert worker.pid not in (None, old_pid)


def test_init_failure_names_the_function_and_its_log(tmp_path: Path) -> None:
    worker = LambdaWorker(
        FunctionSpec(name="broken", handler="no_such_module.handler", code_root=CODE_ROOT),
        log_path=tmp_path / "broken.log",
    )
    worker.start()
    try:
        with pytest.raises(
            RuntimeError, match=r"function broken failed to initialise.*broken\.log"
        ):
            worker.wait_ready()
    finally:
        worker.stop()
    assert "ModuleNotFoundError" in (tmp_path / "broken.log").read_text()


def test_stopped_worker_refuses_invocations(tmp_path: Path) -> None:
    worker = _worker(tmp_path, "count")
    pid = worker.pid
    worker.stop()

    with pytest.raises(InvocationError):
        worker.invoke({})
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # type: ignore[arg-type]


def test_replacement_started_by_a_short_lived_thread_outlives_that_thread(
    tmp_path: Path, workers: list[LambdaWorker]
) -> None:
    # HTTP request threads replace crashed workers; the new worker must not die with them.
    worker = _worker(tmp_path, "crash_first_time")
    workers.append(worker)
    marker = str(tmp_path / "crashed-once")
    outcome: list[BaseException] = []

    def invoke_in_thread() -> None:
        try:
            worker.invoke({"marker": marker})
        except InvocationError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=invoke_in_thread)
    thread.start()
    thread.join()

    assert len(outcome) == 1  # the first call crashed the first environment
    replacement = worker.pid
    assert worker.invoke({"marker": marker}) == {"pid": replacement}
