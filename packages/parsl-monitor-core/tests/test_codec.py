import datetime
import os
import subprocess
import sys
import time
from typing import Any

import msgpack
import pytest

from parsl_monitor_core.wire import (
    MAX_FRAME_BYTES,
    MAX_FRAME_MESSAGES,
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    EncodeError,
    FrameError,
    MessageKind,
    decode_frame,
    encode_frame,
    pack_frame,
    pack_frames,
    pack_message,
)

UTC = datetime.timezone.utc


def test_round_trip_keeps_kinds_payloads_and_sender() -> None:
    messages: list[tuple[int, dict[str, Any]]] = [
        (MessageKind.TASK_INFO, {"run_id": "r", "task_id": 3, "task_fail_cost": 0.5, "task_memoize": False}),
        (MessageKind.RESOURCE_INFO, {"run_id": "r", "psutil_process_status": "running", "hostname": None}),
    ]
    frame = decode_frame(encode_frame(messages, "host:1"))
    assert frame.version == PROTOCOL_VERSION
    assert frame.sender == "host:1"
    assert frame.messages == [[int(kind), payload] for kind, payload in messages]


def test_pack_frame_joins_prepacked_messages_without_repacking() -> None:
    packed = [pack_message(MessageKind.BLOCK_INFO, {"n": i}) for i in range(1000)]
    frame = decode_frame(pack_frame(packed, "s"))
    assert [payload["n"] for _, payload in frame.messages] == list(range(1000))


def test_aware_times_arrive_as_the_same_instant_in_utc() -> None:
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    sent = datetime.datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=plus_two)
    ((_, payload),) = decode_frame(encode_frame([(0, {"t": sent})], "s")).messages
    assert payload["t"] == sent
    assert payload["t"].utcoffset() == datetime.timedelta(0)
    assert payload["t"].microsecond == 123456


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Chicago", "Asia/Kolkata"])
def test_naive_times_are_read_as_local_time_of_the_sender(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    # Parsl stamps messages with datetime.now(): naive local time.
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        naive = datetime.datetime(2026, 7, 1, 12, 0, 0, 999999)  # noqa: DTZ001 - naive on purpose, as Parsl's
        expected = naive.astimezone(UTC)
        ((_, payload),) = decode_frame(encode_frame([(0, {"t": naive})], "s")).messages
        assert payload["t"] == expected
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert os.environ.get("TZ") is None


def test_values_msgpack_cannot_carry_raise_encode_error() -> None:
    with pytest.raises(EncodeError, match="kind 0"):
        pack_message(MessageKind.TASK_INFO, {"x": object()})


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xc1\xc1\xc1 not msgpack", "not a msgpack frame"),
        (os.urandom(64) + b"\xc1", "not a msgpack frame"),
        (msgpack.packb({"version": 1}), "array of 3"),
        (msgpack.packb([1, "s"]), "array of 3"),
        (msgpack.packb([99, "s", []]), "unsupported protocol version 99"),
        (msgpack.packb([True, "s", []]), "unsupported protocol version True"),
        (msgpack.packb([1, 7, []]), "sender must be a string"),
        (msgpack.packb([1, "s", {"a": 1}]), "messages must be an array"),
        (b"", "not a msgpack frame"),
    ],
)
def test_garbage_raises_one_frame_error_with_a_one_line_reason(data: bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason) as caught:
        decode_frame(data)
    assert "\n" not in str(caught.value)


def test_oversized_frames_are_refused_before_decoding() -> None:
    data = encode_frame([(0, {"blob": "x" * 2000})], "s")
    with pytest.raises(FrameError, match="exceeds the limit of 1000 bytes"):
        decode_frame(data, max_bytes=1000)


CHECK_AROUND_TRANSITIONS = """
import datetime, sys
from parsl_monitor_core.wire.codec import to_timestamp
wrong = []
for day in (datetime.datetime(2026, 3, 8), datetime.datetime(2026, 11, 1), datetime.datetime(2026, 7, 1)):
    for step in range(0, 6 * 3600, 7):  # midnight to 6 am, every 7 s: before, in and after the change
        for fold in (0, 1):
            naive = (day + datetime.timedelta(seconds=step, microseconds=step)).replace(fold=fold)
            if to_timestamp(naive).seconds != int(naive.replace(microsecond=0).timestamp()):
                wrong.append(str(naive))
print(len(wrong), wrong[:3])
"""


@pytest.mark.parametrize("zone", ["EST5EDT,M3.2.0,M11.1.0", "XST5XDT,M3.2.0/2:30,M11.1.0/1:30", "UTC0", "<+0530>-5:30"])
def test_naive_times_convert_as_timestamp_does_across_daylight_saving_changes(zone: str) -> None:
    # Offsets are cached per minute of wall-clock time: the spring gap and the autumn
    # repeat (both folds) must still convert exactly as datetime.timestamp() does.
    result = subprocess.run(
        [sys.executable, "-c", CHECK_AROUND_TRANSITIONS],
        env={**os.environ, "TZ": zone},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "0 []"


def test_a_message_too_big_for_a_frame_has_its_long_text_cut_and_says_so() -> None:
    payload = {"run_id": "r", "task_inputs": "x" * (3 * MAX_MESSAGE_BYTES), "task_id": 7}
    packed = pack_message(MessageKind.TASK_INFO, payload)
    assert len(packed) <= MAX_MESSAGE_BYTES
    (message,) = decode_frame(pack_frame([packed], "s")).messages
    assert message[1]["task_id"] == 7
    assert message[1]["run_id"] == "r"
    assert message[1]["task_inputs"].startswith("xxx")
    assert message[1]["task_inputs"].endswith(f"characters cut: message over {MAX_MESSAGE_BYTES} bytes]")
    small = pack_message(MessageKind.TASK_INFO, ["r", 7, "y" * 1000])
    assert msgpack.unpackb(small)[1][2] == "y" * 1000


def test_messages_are_split_into_frames_under_the_size_and_count_limits() -> None:
    packed = [pack_message(MessageKind.RESOURCE_INFO, ["r", i, "z" * 100_000]) for i in range(100)]
    frames = pack_frames(packed, "s")
    assert sum(count for _frame, count in frames) == 100
    assert all(len(frame) <= MAX_FRAME_BYTES // 2 for frame, _count in frames)
    decoded = [m for frame, _count in frames for m in decode_frame(frame).messages]
    assert [m[1][1] for m in decoded] == list(range(100))
    tiny = [pack_message(MessageKind.FLUSH, [i]) for i in range(MAX_FRAME_MESSAGES + 5)]
    assert [count for _frame, count in pack_frames(tiny, "s")] == [MAX_FRAME_MESSAGES, 5]
    assert pack_frames([], "s") == []


def test_decoding_limits_refuse_frames_built_to_cost_memory() -> None:
    too_many = msgpack.packb([1, "s", [[64, [1]]] * (MAX_FRAME_MESSAGES + 1)])
    with pytest.raises(FrameError, match="exceeds max_array_len"):
        decode_frame(too_many)
    containers = pack_frame([msgpack.packb([64, [[]] * 50_000])] * 5, "s")  # 250,005 arrays in 1.3 MB
    with pytest.raises(FrameError, match="arrays and maps in one frame"):
        decode_frame(containers)
