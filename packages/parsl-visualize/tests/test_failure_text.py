"""Reading a failure back out of the ``repr(exception)`` Parsl records for a failed try."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsl_visualize.failure_text import parse_failure


class Executor:
    """An object whose repr spans many lines, as Parsl's executors' does."""

    def __repr__(self) -> str:
        return (
            "HighThroughputExecutor(\n    label='htex', \n    provider=LocalProvider(\n        init_blocks=1\n    )\n)"
        )


class BadStateException(Exception):  # noqa: N818 - Parsl's name
    """Parsl's error for tasks of an executor whose blocks failed: (executor, exception) as arguments."""


@given(st.text())
def test_any_message_of_a_python_exception_reads_back_exactly(message: str) -> None:
    failure = parse_failure(repr(ValueError(message)))
    assert (failure.type, failure.message) == ("ValueError", message)


@given(st.text())
def test_any_text_at_all_gives_a_failure_without_raising(text: str) -> None:
    failure = parse_failure(text)
    assert isinstance(failure.summary, str)
    assert failure.type == "" or failure.type in text


def test_a_key_error_reads_as_python_prints_it_and_alike_ones_share_a_group() -> None:
    failures = [parse_failure(repr(KeyError(f"sample_{i}"))) for i in (3, 17, 500)]
    assert failures[0].summary == "KeyError: 'sample_3'"
    assert len({f.group for f in failures}) == 1
    assert parse_failure(repr(KeyError("other"))).group != failures[0].group
    assert parse_failure(repr(IndexError("sample_3"))).group != failures[0].group


def test_ids_and_addresses_are_folded_but_words_are_not() -> None:
    a = parse_failure(repr(RuntimeError("object at 0x7f3a2b1c in run 1f0e8d2c-aaaa-bbbb-cccc-0123456789ab")))
    b = parse_failure(repr(RuntimeError("object at 0x55aa in run 00000000-1111-2222-3333-444444444444")))
    assert a.group == b.group
    assert parse_failure(repr(RuntimeError("disk full"))).group != parse_failure(repr(RuntimeError("disk gone"))).group


def test_the_cause_inside_an_executor_error_is_found_and_headlined() -> None:
    cause = Exception(
        "Error 1:\n\tJob is marked as MISSING since the workers failed to register\n\tEXIT CODE: 127\n"
        "\tSTDERR: /run/submit.sh: line 1: parsl-monitor-worker: command not found\n"
    )
    failure = parse_failure(repr(BadStateException(Executor(), cause)))
    assert failure.type == "BadStateException"
    assert failure.message == str(cause)  # the executor's 6-line repr is gone
    assert failure.last_line == "STDERR: /run/submit.sh: line 1: parsl-monitor-worker: command not found"
    assert failure.summary.endswith(
        "EXIT CODE: 127 STDERR: /run/submit.sh: line 1: parsl-monitor-worker: command not found"
    )


def test_parsl_s_own_reprs_read_as_parsl_prints_them() -> None:
    bash = parse_failure("BashExitFailure('shout', 3)")
    assert bash.summary == "BashExitFailure: bash_app shout failed with unix exit code 3"
    dependency = parse_failure("DependencyError([(KeyError('sample_31'), 'task 32')], 33)")
    assert dependency.is_propagated and dependency.message == "a dependency failed: task 32"
    assert dependency.causes == (32,)
    assert parse_failure("parsl.app.errors.AppTimeout('took too long')").summary == "AppTimeout: took too long"


def test_a_failure_that_is_another_task_s_names_only_the_tasks_it_came_through_directly() -> None:
    # As Parsl's DataFlowKernel records them (repr of its JoinError / DependencyError), a join
    # app's failure naming both joined tasks that failed, each with its own nested cause.
    joined = parse_failure(
        "JoinError([(RuntimeError('cannot convert part 1'), 'task 5'), "
        "(JoinError([(ValueError('x'), 'task 2')], 6), 'task 6')], 7)"
    )
    assert (joined.type, joined.causes) == ("JoinError", (5, 6))
    assert joined.is_propagated and joined.summary == "JoinError: a joined task failed: task 5, task 6"
    through = parse_failure("DependencyError([(DependencyError([(KeyError('s'), 'task 31')], 32), 'task 32')], 33)")
    assert (through.message, through.causes) == ("a dependency failed: task 32", (32,))
    # A plain Future joined (not an app's) is named by its repr: no task to follow.
    plain = parse_failure("JoinError([(ValueError('x'), '<Future at 0x7f state=finished raised ValueError>')], 4)")
    assert (plain.message, plain.causes) == ("a joined task failed", ())
    assert not parse_failure("ValueError('task 3')").is_propagated


@pytest.mark.parametrize(
    "error",
    [
        subprocess.CalledProcessError(1, ["false"]),
        subprocess.CalledProcessError(2, "make all", b"output", b"errors"),
        subprocess.CalledProcessError(-9, ["simulate", "--steps", "10"]),  # killed (the OOM killer's signal)
        subprocess.CalledProcessError(-250, "x"),  # no such signal
        subprocess.TimeoutExpired(["sleep", "9"], 5),
        subprocess.TimeoutExpired("sleep 9", 0.5),
        FileNotFoundError(2, "No such file or directory"),
        PermissionError(13, "Permission denied"),
        ConnectionResetError(104, "Connection reset by peer"),
        OSError("disk quota exceeded"),
    ],
    ids=repr,
)
def test_exceptions_whose_message_is_not_their_arguments_read_as_python_prints_them(error: Exception) -> None:
    failure = parse_failure(repr(error))  # what Parsl records
    assert (failure.type, failure.message) == (type(error).__name__, str(error))


def test_a_bash_app_s_missing_outputs_are_named_under_its_reason() -> None:
    # Parsl's repr of MissingOutputs(reason, [File, ...]), as recorded for the try.
    files = "".join(
        f"<File at 0x7f64884856{i}0 url={path} scheme=file netloc= path={path} filename={path.rsplit('/', 1)[-1]}>, "
        for i, path in enumerate(["/data/out/result.txt", "/data/out/with space.txt"])
    )
    failure = parse_failure(f"MissingOutputs('Missing outputs from app make', [{files[:-2]}])")
    assert failure.message.splitlines() == [
        "Missing outputs from app make",
        "/data/out/result.txt",
        "/data/out/with space.txt",
    ]
    assert failure.summary == "MissingOutputs: Missing outputs from app make"  # one group per app


def test_a_multi_line_message_keeps_its_lines() -> None:
    failure = parse_failure(repr(ValueError("cannot parse 'x,y'\nline 2 is empty\nexpected: a number")))
    assert failure.message.splitlines() == ["cannot parse 'x,y'", "line 2 is empty", "expected: a number"]
    assert failure.summary == "ValueError: cannot parse 'x,y'"
    assert failure.last_line == "expected: a number"


def test_hostile_texts_are_cut_and_read_without_error() -> None:
    deep = "A(" * 5000 + ")" * 5000
    assert parse_failure(deep).type == "A"
    huge = "E('" + "x" * 10_000_000 + "')"
    assert len(parse_failure(huge).message) <= 64 * 1024
    assert parse_failure("E('unterminated").type == ""
