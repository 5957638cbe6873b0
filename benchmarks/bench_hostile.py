"""Hostile and huge input against one hub: does it stay up, land the valid messages, and stay small?

Each attack is followed by 10,000 valid messages and a flush; the hub must confirm all of
them. Both hub processes' resident memory is sampled every 20 ms throughout. Printed: per
attack, its size, the seconds until the valid messages after it were confirmed, and the
peak RSS of the hub (receiver) and of its writer during the attack.

    python -m benchmarks.bench_hostile [--workdir DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack
import psutil
import zmq

from benchmarks import messages as m
from benchmarks.hubs import OurHub, count

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

VALID_AFTER = 10_000
MIB = 1 << 20


class PeakRSS:
    """Highest resident set size of the hub and of its writer, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.hub = psutil.Process(pid)
        self.writer = self.hub.children()[0]
        self.peaks = (0, 0)
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._running.set()
        self._thread.start()

    def _sample(self) -> None:
        while self._running.is_set():
            try:
                hub, writer = self.hub.memory_info().rss, self.writer.memory_info().rss
            except psutil.NoSuchProcess:
                return
            self.peaks = (max(self.peaks[0], hub), max(self.peaks[1], writer))
            time.sleep(0.02)

    def reset(self) -> tuple[int, int]:
        peaks, self.peaks = self.peaks, (0, 0)
        return peaks

    def stop(self) -> None:
        self._running.clear()
        self._thread.join()


def _raw_peers(url: str, frames: Iterator[bytes], peers: int = 1) -> None:
    """Send raw frames from ``peers`` DEALERs (round robin), then let them go."""
    context = zmq.Context()
    context.set(zmq.MAX_SOCKETS, peers + 16)
    sockets = []
    for _ in range(peers):
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.SNDHWM, 0)
        sock.connect(url)
        sockets.append(sock)
    for i, frame in enumerate(frames):
        sockets[i % peers].send(frame, copy=False)
    time.sleep(0.5)  # let libzmq hand everything over before the sockets go
    for sock in sockets:
        sock.close(linger=30_000)
    context.term()


def random_frames(n: int) -> Iterator[bytes]:
    rng = random.Random(1)
    for _ in range(n):
        yield rng.randbytes(rng.randint(1, 1000))


def empty_arrays(size: int, frames: int = 1) -> Iterator[bytes]:
    """Frames of ``size`` bytes that decode into about as many empty arrays (the amplifier)."""
    arrays = size - 16
    frame = msgpack.packb([1, "amp", []])[:-1] + b"\xdd" + arrays.to_bytes(4, "big") + b"\x90" * arrays
    for _ in range(frames):
        yield frame


def oversized(size: int) -> Iterator[bytes]:
    yield b"\x00" * size


def one_frame_of_valid_messages(n: int) -> Iterator[bytes]:
    """As many valid messages as one frame under the size limit holds: batched like many frames."""
    yield OurHub.frames([(m.RESOURCE_INFO, m.resource_info(10_000_000 + i)) for i in range(n)], per_frame=n)[0]


def extreme_values(n: int) -> Iterator[bytes]:
    """Messages whose values no column can hold (2**63, NaN, infinity), and 3 MiB strings."""
    stamp = msgpack.Timestamp(1_700_000_000, 0)
    bad: list[Any] = [2**63, 2**64 - 1, float("nan"), float("inf"), float("-inf")]
    for i in range(n):
        yield msgpack.packb([1, "extreme", [[1, [m.RUN_ID, bad[i % len(bad)], 0, stamp]]]])
    for _ in range(10):
        yield msgpack.packb([1, "extreme", [[1, [m.RUN_ID, 1, 0, stamp, "x" * (3 * MIB)]]]])


def many_peers(peers: int) -> Iterator[bytes]:
    for i in range(peers):
        yield b"\x92\x01" + bytes([i % 256])  # truncated frames: every peer also sends garbage


def attacks(scale: float) -> list[tuple[str, Callable[[str], None], int]]:
    """(name, attack, valid rows it carries); ``scale`` < 1 for a quick check that the benchmark runs."""
    frames, amp, big, peers = int(100_000 * scale), int(4 * MIB * scale) - 64, int(500 * MIB * scale), int(2000 * scale)
    return [
        (f"{frames:,} random frames (1-1000 B)", lambda url: _raw_peers(url, random_frames(frames)), 0),
        (f"{amp / MIB:.1f} MiB frame of empty arrays", lambda url: _raw_peers(url, empty_arrays(amp)), 0),
        (f"20 frames of {amp / MIB:.1f} MiB of empty arrays", lambda url: _raw_peers(url, empty_arrays(amp, 20)), 0),
        ("64 MiB frame", lambda url: _raw_peers(url, oversized(64 * MIB)), 0),
        (f"{big / MIB:.0f} MiB frame", lambda url: _raw_peers(url, oversized(big)), 0),
        (
            "one frame of 12,000 valid messages",
            lambda url: _raw_peers(url, one_frame_of_valid_messages(12_000)),
            12_000,
        ),
        ("12,000 extreme values, 10 x 3 MiB strings", lambda url: _raw_peers(url, extreme_values(12_000)), 0),
        (f"{peers:,} peers at once", lambda url: _raw_peers(url, many_peers(peers), peers=peers), 0),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--quick", action="store_true", help="small attacks: checks that the benchmark runs")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))  # this process's 2,000 peers
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    db = workdir / "hostile.db"
    hub = OurHub(db)
    rss = PeakRSS(hub.process.pid)
    hub.send(OurHub.frames([(m.WORKFLOW_INFO, m.workflow_start())]))
    hub.flush()
    valid, expected = 0, 0
    print(f"{'attack':42} {'seconds':>8} {'hub MB':>8} {'writer MB':>10}  valid messages around it")
    try:
        for name, attack, carried in attacks(0.02 if args.quick else 1.0):
            rss.reset()
            started = time.perf_counter()
            attack(hub.url)
            resources = [
                (m.RESOURCE_INFO, m.resource_info(valid + i)) for i in range(VALID_AFTER)
            ]  # new rows each time
            hub.send(OurHub.frames(resources))
            hub.flush()
            valid += VALID_AFTER
            expected += VALID_AFTER + carried
            seconds = time.perf_counter() - started
            peak_hub, peak_writer = rss.reset()
            alive, stored = hub.process.poll() is None, count(db, "resource")
            verdict = "all landed" if alive and stored == expected else f"LOST (alive={alive}, {stored} of {expected})"
            print(f"{name:42} {seconds:8.1f} {peak_hub / MIB:8.0f} {peak_writer / MIB:10.0f}  {verdict}")
    finally:
        rss.stop()
        code = hub.stop()
    log = db.with_suffix(".log")
    print(f"hub exit code {code}; resource rows {count(db, 'resource')} of {expected} valid sent")
    print([line.split("] ", 1)[1] for line in log.read_text().splitlines() if "stopped:" in line][-1])
    print(f"log: {log}")


if __name__ == "__main__":
    main()
