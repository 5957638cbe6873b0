"""Property-based fuzzing of a real hub: extreme values in every message kind, random frames.

Whatever arrives, the hub stays up, every frame and message is either written or
rejected (counted), and the valid messages sent around the hostile ones all land.
"""

from __future__ import annotations

import datetime
import sqlite3
import threading
from typing import TYPE_CHECKING, Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsl_monitor_core.wire import PAYLOAD_FIELDS, PROTOCOL_VERSION, MessageKind, pack_frame
from parsl_monitor_hub.config import HubConfig
from parsl_monitor_hub.service import HubService

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from hypothesis.strategies import DrawFn, SearchStrategy

    from conftest import Client, Messages

UTC = datetime.timezone.utc
DATA_KINDS = [kind for kind in PAYLOAD_FIELDS if kind < MessageKind.FLUSH]

EXTREME_INTS = st.sampled_from([0, -1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, -(2**63)])
EXTREME_FLOATS = st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, float("nan"), float("inf"), float("-inf")])
TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=20_000),
    st.sampled_from(["", "\x00", "'; drop table task; --", "<script>alert(1)</script>", "é" * 5000]),
)
TIMES = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.builds(msgpack.Timestamp, st.integers(-(2**34), 2**34 - 1), st.integers(0, 999_999_999)),
)
MSGPACK_INTS = st.integers(-(2**63), 2**64 - 1)
WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.binary(max_size=20),
    st.lists(MSGPACK_INTS, max_size=3),
    st.dictionaries(st.text(max_size=3), MSGPACK_INTS, max_size=3),
)


def value_for(types: tuple[type, ...]) -> SearchStrategy[Any]:
    """A value of the field's type (often extreme), or sometimes of a wrong one."""
    right: list[SearchStrategy[Any]] = []
    if int in types:
        right += [MSGPACK_INTS, EXTREME_INTS]
    if float in types:
        right += [st.floats(), EXTREME_FLOATS]
    if str in types:
        right.append(TEXT)
    if bool in types:
        right.append(st.booleans())
    if datetime.datetime in types:
        right.append(TIMES)
    return st.one_of(*right, WRONG) if right else WRONG


def sane(types: tuple[type, ...]) -> SearchStrategy[Any]:
    """An ordinary value of the field's first type, as a well-behaved sender sends it."""
    first = types[0]
    if first is bool:
        return st.booleans()
    if first is int:
        return st.integers(0, 10_000)
    if first is float:
        return st.floats(0, 1e9)
    if first is datetime.datetime:
        return st.datetimes(datetime.datetime(2000, 1, 1), datetime.datetime(2100, 1, 1), timezones=st.just(UTC))  # noqa: DTZ001 - bounds of naive values, given a zone
    return st.text(max_size=20)


@st.composite
def messages(draw: DrawFn) -> tuple[int, list[Any]]:
    """A valid message of any kind with one to three fields replaced by extreme or mistyped values."""
    kind = draw(st.sampled_from(DATA_KINDS))
    fields = PAYLOAD_FIELDS[kind]
    start = kind is MessageKind.WORKFLOW_INFO and draw(st.booleans())
    values = [draw(sane(field.types)) if field.required or start or draw(st.booleans()) else None for field in fields]
    if kind is MessageKind.WORKFLOW_INFO and not start:
        values[1] = None  # no python_version: an end message
    for position in draw(st.lists(st.integers(0, len(fields) - 1), min_size=1, max_size=3)):
        values[position] = draw(value_for(fields[position].types))
    return int(kind), values


class FuzzedHub:
    """A hub in a thread, one connection to it, and canary messages that must always land."""

    def __init__(self, db_path: Path, connect: Callable[[str], Client], make: Messages) -> None:
        config = HubConfig(db_url=f"sqlite:///{db_path}", bind="tcp://127.0.0.1:*", batch_delay=0.01)
        self.service = HubService(config)
        self.thread = threading.Thread(target=self.service.run, daemon=True)
        self.thread.start()
        self.client = connect(self.service.url)
        self.db_path = db_path
        self.make = make
        self.canary = 0

    def accounted(self) -> int:
        stats = self.service.stats
        return stats.written + stats.rejected_messages + stats.rejected_frames

    def canaries(self, count: int) -> list[int]:
        ids = list(range(self.canary, self.canary + count))
        self.canary += count
        make = self.make
        self.client.send([(MessageKind.RESOURCE_INFO, make.resource_info(10**9 + i, 1, run_id="canary")) for i in ids])
        return ids

    def landed(self, ids: list[int]) -> int:
        with sqlite3.connect(self.db_path) as conn:
            (n,) = conn.execute(
                "select count(*) from resource where run_id = 'canary' and task_id between ? and ?",
                (10**9 + ids[0], 10**9 + ids[-1]),
            ).fetchone()
        return int(n)

    def close(self) -> None:
        self.client.close()
        self.service.stop()
        self.thread.join(timeout=60)


@pytest.fixture
def fuzzed(tmp_path: Path, connect: Callable[[str], Client], make: Messages) -> Iterator[FuzzedHub]:
    hub = FuzzedHub(tmp_path / "fuzz.db", connect, make)
    yield hub
    hub.close()


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(batch=st.lists(messages(), min_size=1, max_size=5))
def test_extreme_values_in_every_kind_never_stop_the_hub(fuzzed: FuzzedHub, batch: list[tuple[int, list[Any]]]) -> None:
    before = fuzzed.accounted()
    first = fuzzed.canaries(2)
    for kind, values in batch:  # one frame each: a bad timestamp rejects its whole frame
        fuzzed.client.send([(kind, values)])
    last = fuzzed.canaries(2)
    fuzzed.client.flush()
    assert fuzzed.thread.is_alive()
    assert fuzzed.landed(first + last) == 4
    assert fuzzed.accounted() - before == len(batch) + 4


MSGPACK_OBJECTS = st.recursive(
    st.one_of(st.none(), st.booleans(), MSGPACK_INTS, st.floats(), st.text(max_size=10)),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5),
    max_leaves=30,
)
FRAMES = st.one_of(
    st.binary(max_size=200),
    MSGPACK_OBJECTS.map(msgpack.packb),
    st.lists(MSGPACK_OBJECTS, max_size=5).map(lambda items: msgpack.packb([PROTOCOL_VERSION, "f", items])),
    st.lists(MSGPACK_OBJECTS.map(msgpack.packb), max_size=5).map(lambda packed: pack_frame(packed, "f")),
)


@FUZZ
@given(frame=FRAMES)
def test_random_frames_are_rejected_and_never_stop_the_hub(fuzzed: FuzzedHub, frame: bytes) -> None:
    first = fuzzed.canaries(1)
    fuzzed.client.send_raw(frame)
    last = fuzzed.canaries(1)
    fuzzed.client.flush()
    assert fuzzed.thread.is_alive()
    assert fuzzed.landed(first + last) == 2


def test_a_frame_built_to_amplify_memory_is_rejected_cheaply(fuzzed: FuzzedHub) -> None:
    """Millions of one-byte empty arrays would cost 64 bytes each once decoded."""
    count = 3_000_000
    empties = b"\x93\x01\xa1x\xdd" + count.to_bytes(4, "big") + b"\x90" * count
    nested = pack_frame([b"\x92\x01\xdc" + (50_000).to_bytes(2, "big") + b"\x90" * 50_000] * 60, "f")
    first = fuzzed.canaries(1)
    fuzzed.client.send_raw(empties)
    fuzzed.client.send_raw(nested)
    last = fuzzed.canaries(1)
    fuzzed.client.flush()
    assert fuzzed.service.stats.rejected_frames == 2
    assert fuzzed.landed(first + last) == 2
