"""Where a task's time went, from its times and its tries."""

from __future__ import annotations

import math

from parsl_visualize.live.phases import split_task
from parsl_visualize.live.tasks import TryTimes

NAN = math.nan


def test_one_try_splits_its_duration_into_four_phases_that_add_up() -> None:
    split = split_task(10.0, 20.0, [TryTimes(12.0, 13.5, 19.0, "n1")])
    assert (split.waiting, split.queued, split.running, split.result) == (2.0, 1.5, 5.5, 1.0)
    assert split.waiting + split.queued + split.running + split.result == 20.0 - 10.0


def test_a_retry_adds_its_wait_its_queue_and_its_run_to_the_first_try_s() -> None:
    tries = [TryTimes(1.0, 2.0, 3.0, "n1"), TryTimes(4.0, 4.5, 6.0, "n2")]
    split = split_task(0.0, 6.5, tries)
    assert (split.waiting, split.queued, split.running, split.result) == (2.0, 1.5, 2.5, 0.5)


def test_a_task_that_never_launched_only_waited_and_one_still_running_has_no_run_time_yet() -> None:
    dep_fail = split_task(0.0, 3.0, [])
    assert dep_fail.waiting == 3.0 and [dep_fail.known(p) for p in ("queued", "running", "result")] == [None] * 3
    running = split_task(0.0, NAN, [TryTimes(1.0, 2.0, NAN, "n1")])
    assert (running.waiting, running.queued) == (1.0, 1.0)
    assert running.known("running") is None and running.known("result") is None


def test_a_task_whose_tries_failed_while_queued_has_no_run_time_not_a_zero_one() -> None:
    split = split_task(0.0, 5.0, [TryTimes(1.0, NAN, 4.0, None)])
    assert (split.waiting, split.queued, split.result) == (1.0, 3.0, 1.0)
    assert split.known("running") is None  # a mean of run times must not count it as a fast task


def test_a_worker_clock_slightly_behind_gives_zero_not_a_negative_phase() -> None:
    split = split_task(10.0, 20.0, [TryTimes(12.0, 11.99, 19.0, "n1")])
    assert split.queued == 0.0 and split.running == 19.0 - 11.99
