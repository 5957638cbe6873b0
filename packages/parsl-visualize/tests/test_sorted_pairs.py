"""The task list's sorted order (SortedPairs) against a plain sorted list, through adds, removes and block splits."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsl_visualize.live.sorted_pairs import SortedPairs

VALUES = st.sampled_from([0.0, 0.5, 1.0, 2.5, 1e9, -3.0])  # few values: many ties, broken by id
IDS = st.integers(0, 40)


@settings(max_examples=500)  # cheap; block splits need long sequences to reach
@given(
    start=st.sets(st.tuples(VALUES, IDS), max_size=30),
    steps=st.lists(st.tuples(st.sampled_from(["add", "remove", "remove absent"]), VALUES, IDS), max_size=80),
    load=st.integers(1, 4),
)
def test_pairs_stay_in_value_then_id_order_through_adds_and_removes(
    start: set[tuple[float, int]], steps: list[tuple[str, float, int]], load: int
) -> None:
    truth = sorted(start)
    pairs = SortedPairs(array("d", [v for v, _ in truth]), array("q", [i for _, i in truth]), load=load)
    for step, value, task_id in steps:
        if step == "add" and (value, task_id) not in truth:  # a task is held once
            truth.append((value, task_id))
            truth.sort()
            pairs.add(value, task_id)
        elif step == "remove" and truth:  # a held pair, picked by the drawn id
            held = truth.pop(task_id % len(truth))
            pairs.remove(*held)
        elif step == "remove absent" and (value, task_id) not in truth:
            with pytest.raises(ValueError, match="not held"):
                pairs.remove(value, task_id)
        assert list(pairs.ids()) == [i for _, i in truth]
        assert list(pairs.ids(descending=True)) == [i for _, i in reversed(truth)]
        assert len(pairs) == len(truth)
