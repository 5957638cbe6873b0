"""Tasks' stdout and stderr on the task page: shown from the allowed directories, and nothing outside them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from sqlalchemy import create_engine, text

from parsl_visualize.app import create_app
from parsl_visualize.db import open_database
from parsl_visualize.task_output import TAIL_BYTES, FileAccess

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from litestar import Litestar

DONE = "run-done"  # conftest.write_example's finished run: tasks 0 to 4
SECRET = "the-secret-outside-the-allowed-directory"  # noqa: S105 - a marker text, not a password


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """An allowed directory with outputs of every kind, and a secret beside it."""
    allowed = tmp_path / "project"
    (allowed / "out").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    (allowed / "out" / "ok.out").write_text("line 1\nline 2\n")
    big = "".join(f"line {i:06d}\n" for i in range(20_000))  # 240 KB
    (allowed / "out" / "big.err").write_text(big)
    (allowed / "out" / "link.out").symlink_to(secret)
    os.mkfifo(allowed / "out" / "fifo.out")
    (allowed / "out" / "binary.out").write_bytes(b"ok \xff\xfe end\n")
    return {"allowed": allowed, "secret": secret, "tmp": tmp_path}


def _serve(
    db_path: Path, files: FileAccess, outputs: Mapping[int, tuple[str | None, str | None]]
) -> Iterator[TestClient[Litestar]]:
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        for task_id, (stdout, stderr) in outputs.items():
            conn.execute(
                text("UPDATE task SET task_stdout = :o, task_stderr = :e WHERE run_id = :r AND task_id = :t"),
                {"o": stdout, "e": stderr, "r": DONE, "t": task_id},
            )
    engine.dispose()
    db = open_database(str(db_path))
    app: Litestar = create_app(db, files=files)
    with TestClient(app=app, base_url="http://127.0.0.1") as client:
        yield client
    db.engine.dispose()


@pytest.fixture
def client(db_path: Path, layout: dict[str, Path]) -> Iterator[TestClient[Litestar]]:
    allowed, secret = layout["allowed"], layout["secret"]
    outputs = {
        0: (str(allowed / "out" / "ok.out"), "('out/big.err', 'w')"),  # absolute; a (path, mode) tuple, relative
        1: (str(secret), "out/../../secret.txt"),  # outside: absolute, and by ..
        2: ("out/link.out", "out/fifo.out"),  # a link leading outside; a FIFO
        3: ("out/binary.out", str(allowed / "out")),  # bytes that are not UTF-8; a directory
        4: ("out/missing.out", None),
    }
    yield from _serve(db_path, FileAccess([allowed]), outputs)


def _output(client: TestClient[Litestar], task_id: int) -> str:
    page = client.get(f"/workflow/{DONE}/task/{task_id}", headers={"accept": "text/html"}).text
    return (
        page[page.index("<h2>Output</h2>") : page.index("<h2>Status timeline</h2>")]
        if "<h2>Output</h2>" in page
        else ""
    )


def test_the_task_page_shows_an_allowed_file_and_the_end_of_a_big_one(client: TestClient[Litestar]) -> None:
    shown = _output(client, 0)
    assert "line 1\nline 2" in shown
    assert "line 019999" in shown and "line 000000" not in shown and "the last 64 KiB" in shown
    whole = client.get(f"/workflow/{DONE}/task/0/stderr")
    assert whole.status_code == 200 and whole.text.count("\n") == 20_000
    assert "attachment" in whole.headers["content-disposition"]


@pytest.mark.parametrize(
    ("task_id", "stream"), [(1, "stdout"), (1, "stderr"), (2, "stdout"), (2, "stderr"), (3, "stderr")]
)
def test_nothing_outside_the_allowed_directories_nor_a_fifo_or_directory_is_read(
    client: TestClient[Litestar], task_id: int, stream: str
) -> None:
    shown = _output(client, task_id)
    assert SECRET not in shown and "Not shown:" in shown
    download = client.get(f"/workflow/{DONE}/task/{task_id}/{stream}")
    assert download.status_code == 404 and SECRET not in download.text
    assert any(reason in download.json()["detail"] for reason in ("outside the directories", "not a regular file"))


def test_undecodable_bytes_and_missing_files_are_said_plainly(client: TestClient[Litestar]) -> None:
    assert "ok \ufffd\ufffd end" in _output(client, 3)
    assert "not found (or not readable) by the viewer" in _output(client, 4)
    assert client.get(f"/workflow/{DONE}/task/4/stdout").status_code == 404
    assert client.get(f"/workflow/{DONE}/task/4/passwd").status_code == 404


def test_without_allow_files_nothing_is_read(db_path: Path, layout: dict[str, Path]) -> None:
    ok = str(layout["allowed"] / "out" / "ok.out")
    for client in _serve(db_path, FileAccess(), {0: (ok, None)}):
        assert "start parsl-visualize with --allow-files DIR" in _output(client, 0)
        assert client.get(f"/workflow/{DONE}/task/0/stdout").status_code == 404


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    recorded=st.one_of(
        st.text(max_size=60),
        st.lists(
            st.sampled_from(["..", ".", "out", "secret.txt", "project", "link.out", "", "/", "%2e%2e"]), max_size=8
        ).map("/".join),
    )
)
def test_no_recorded_path_whatever_it_says_opens_a_file_outside(layout: dict[str, Path], recorded: str) -> None:
    files = FileAccess([layout["allowed"]])
    for value in (recorded, str(layout["tmp"]) + "/" + recorded, repr((recorded, "w"))):
        opened = files.open(value)
        if isinstance(opened, str):
            continue
        fd, _size = opened
        try:
            real = os.path.realpath(f"/proc/self/fd/{fd}")
            assert real.startswith(str(layout["allowed"]) + os.sep), (value, real)
            assert SECRET.encode() not in os.pread(fd, TAIL_BYTES, 0)
        finally:
            os.close(fd)
