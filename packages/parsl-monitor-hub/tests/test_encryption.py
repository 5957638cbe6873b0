"""An encrypting hub (``--keys``): only senders with its public key and an allowed client key get in."""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import zmq

from parsl_monitor_core.wire import CurveKeys, HubEndpoint, encode_frame
from parsl_monitor_core.wire import MessageKind as K
from parsl_monitor_hub.keys import client_keys
from parsl_monitor_hub.sender import HubSender

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import Messages

SENT = 100


class FakeMessageType:
    def __init__(self, value: int) -> None:
        self.value = value


def start_hub(db: Path, keys: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    hub = subprocess.Popen(
        [
            *(sys.executable, "-m", "parsl_monitor_hub", "--db", str(db), "--bind", "tcp://127.0.0.1:*"),
            *("--keys", str(keys), "--log-file", str(log), "--stats-interval", "1"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert hub.stdout is not None
    line = hub.stdout.readline()
    assert line.startswith("parsl-monitor-hub: listening on"), hub.communicate()[1]
    return hub, line.split()[3].rstrip(",")


def intruder(
    url: str, keys: CurveKeys | None, make: Messages, first_task: int
) -> tuple[zmq.Context[zmq.Socket[bytes]], zmq.Socket[bytes]]:
    """A DEALER that sends valid messages, plaintext or with the given keys.

    A refused handshake can leave the DEALER with no pipe to queue into, so sending waits at most
    a few seconds: whether or not the message left, none of it may land.
    """
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.sndtimeo = 3000
    HubEndpoint(url, keys).connect(sock)
    resources = [(K.RESOURCE_INFO, make.resource_info(first_task + i, 1)) for i in range(SENT)]
    with contextlib.suppress(zmq.Again):
        sock.send(encode_frame(resources, f"intruder-{first_task}"))
    return context, sock


def stranger_keys(hub_public: bytes) -> CurveKeys:
    public, secret = zmq.curve_keypair()
    return CurveKeys(hub_public, public, secret)


def test_only_senders_with_an_allowed_key_get_in_and_the_others_are_counted(tmp_path: Path, make: Messages) -> None:
    db, keys, log = tmp_path / "monitoring.db", tmp_path / "keys", tmp_path / "hub.log"
    hub, url = start_hub(db, keys, log)
    assert keys.stat().st_mode & 0o777 == 0o700
    allowed = client_keys(keys)
    other_hub_public, _ = zmq.curve_keypair()
    intruders = [
        intruder(url, None, make, 1000),  # plaintext
        intruder(url, stranger_keys(allowed.hub_public), make, 2000),  # a client key the hub does not allow
        intruder(url, CurveKeys(other_hub_public, allowed.public, allowed.secret), make, 3000),  # wrong hub key
    ]
    sender = HubSender(HubEndpoint(url, allowed).pack())
    sender.put((FakeMessageType(2), make.workflow_start()))
    for i in range(SENT):
        sender.put((FakeMessageType(1), make.resource_info(i, 1)))
    try:
        assert sender.close(timeout=60), "the hub did not confirm the allowed sender's messages"
        deadline = time.monotonic() + 30
        while "connections refused" not in log.read_text():
            assert time.monotonic() < deadline, "refusals not counted"
            time.sleep(0.2)
    finally:
        for context, sock in intruders:
            sock.close(linger=0)
            context.term()
        hub.terminate()
        _, err = hub.communicate(timeout=60)
    assert hub.returncode == 0, err
    with sqlite3.connect(db) as conn:
        rows = [task for (task,) in conn.execute("select task_id from resource")]
    assert sorted(rows) == list(range(SENT))  # the allowed sender's, and nothing of the others
    text = log.read_text()
    assert "encrypted (CurveZMQ)" in text and "NOT ENCRYPTED" not in text
    assert "refused a sender's connection: a client key the hub does not allow" in text
    assert "refused a sender's connection: not encrypted with this hub's key" in text
    refused = re.findall(r"stopped: \d+ messages written, \d+ rejected, (\d+) connections refused", text)
    assert refused and int(refused[-1]) >= len(intruders)


def test_a_client_key_added_to_the_allow_list_gets_in(tmp_path: Path, make: Messages) -> None:
    db, keys, log = tmp_path / "monitoring.db", tmp_path / "keys", tmp_path / "hub.log"
    hub, url = start_hub(db, keys, log)
    hub.terminate()
    hub.communicate(timeout=60)
    team = tmp_path / "team"  # another team's keys: the hub's public key, their own client pair
    team.mkdir(mode=0o700)
    zmq.auth.create_certificates(team, "client")
    shutil.copy(keys / "hub.key", team / "hub.key")
    shutil.copy(team / "client.key", keys / "clients" / "team.key")
    hub, url = start_hub(db, keys, log)  # the allow-list is read at start
    sender = HubSender(HubEndpoint(url, client_keys(team)).pack())
    sender.put((FakeMessageType(2), make.workflow_start()))
    try:
        assert sender.close(timeout=60)
    finally:
        hub.terminate()
        hub.communicate(timeout=60)
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from workflow").fetchone() == (1,)


def test_a_key_directory_others_may_read_is_refused_in_one_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o755)
    keys.chmod(0o755)
    result = subprocess.run(
        [sys.executable, "-m", "parsl_monitor_hub", "--db", str(tmp_path / "m.db"), "--keys", str(keys)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"parsl-monitor-hub: error: {keys} may be read by other users (mode 0o755): chmod 700 it\n"
