"""Nobody else let in: the token, the Host check, the security headers, inert CSV cells, no path in the footer."""

from __future__ import annotations

import csv
import datetime
import http.cookiejar
import io
import os
import subprocess
import sys
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest
from litestar.testing import TestClient
from sqlalchemy import create_engine

from parsl_monitor_core.schema import Status, Task, table_of
from parsl_visualize.access import SECURITY_HEADERS, Access
from parsl_visualize.app import create_app
from parsl_visualize.cli import parse_args, token_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from litestar import Litestar

    from parsl_visualize.db import Database

    Client = TestClient[Litestar]

TOKEN = "s3cret-token-for-tests"  # noqa: S105 - a test's token
RUN = "run-done"
ROUTES = [
    "/",
    f"/workflow/{RUN}/",
    f"/workflow/{RUN}/dag_group_by_apps",
    f"/workflow/{RUN}/dag_group_by_states",
    f"/workflow/{RUN}/resource_usage",
    f"/workflow/{RUN}/task/",
    f"/workflow/{RUN}/task/1",
    f"/workflow/{RUN}/tasks.csv",
    f"/workflow/{RUN}/?since=1",
    "/api/workflows",
    f"/api/workflow/{RUN}",
    "/schema/openapi.json",
    "/static/app.js",
    "/static/vendor/htmx.min.js",
    "/no/such/page",
]
"""Pages, a fragment poll, CSV, API, OpenAPI, static files and a wrong URL."""


@pytest.fixture
def exposed(db: Database) -> Iterator[Client]:
    """The dashboard as ``--listen 0.0.0.0`` serves it, reached by loopback: it demands its token."""
    app: Litestar = create_app(db, access=Access(listen="0.0.0.0", token=TOKEN))  # noqa: S104 - not bound
    with TestClient(app=app, base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_every_route_is_refused_without_the_token(exposed: Client, method: str) -> None:
    for path in ROUTES:
        response = exposed.request(method, path)
        assert response.status_code == 401, path
        if method == "GET":
            assert "needs its token" in response.text, path
            assert RUN not in response.text  # nothing of the data


def test_a_wrong_token_in_any_form_is_refused(exposed: Client) -> None:
    assert exposed.get("/", params={"token": TOKEN[:-1]}).status_code == 401
    assert exposed.get("/", params={"token": ""}).status_code == 401
    assert exposed.get("/", headers={"authorization": f"Bearer {TOKEN}x"}).status_code == 401
    exposed.cookies.set("parsl_visualize_8080", TOKEN)
    assert exposed.get("/").status_code == 401  # the token is not the session


def test_the_token_opens_a_session_and_leaves_the_address_bar(exposed: Client) -> None:
    first = exposed.get(f"/workflow/{RUN}/task/", params={"token": TOKEN, "state": "failures"}, follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == f"/workflow/{RUN}/task/?state=failures"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("parsl_visualize_8080=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert TOKEN not in cookie
    for path in ROUTES[:-1]:  # the session cookie, kept by the client, opens every route
        assert exposed.get(path).status_code == 200, path
    assert exposed.get("/no/such/page").status_code == 404


def test_scripts_may_send_the_token_as_a_header(exposed: Client) -> None:
    for scheme in ("Bearer", "token"):
        response = exposed.get("/api/workflows", headers={"authorization": f"{scheme} {TOKEN}"})
        assert response.status_code == 200
        assert RUN in {run["run_id"] for run in response.json()}


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8080", True),
        ("localhost:8080", True),
        ("[::1]:8080", True),
        ("LOCALHOST", True),
        ("login1.cluster.org:8080", True),  # given with --allowed-host
        ("evil.example:8080", False),  # a DNS-rebinding page
        ("127.0.0.1.evil.example", False),
        ("", False),
    ],
)
def test_only_the_dashboard_s_own_host_names_are_answered(db: Database, host: str, allowed: bool) -> None:
    app = create_app(db, access=Access(allowed_hosts=["login1.cluster.org"]))
    with TestClient(app=app) as client:
        response = client.get("/api/workflows", headers={"host": host})
    assert response.status_code == (200 if allowed else 400)
    if not allowed:
        assert "does not answer to the host name" in response.json()["detail"]


def test_a_forged_host_is_refused_even_with_the_token(exposed: Client) -> None:
    response = exposed.get("/", headers={"host": "evil.example", "authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400


def test_every_answer_carries_the_security_headers(client: Client, exposed: Client) -> None:
    answers = [client.get(path) for path in ROUTES]
    answers += [client.head("/"), exposed.get("/"), client.get("/", headers={"host": "evil.example"})]
    answers.append(exposed.get("/", params={"token": TOKEN}, follow_redirects=False))
    assert {response.status_code for response in answers} >= {200, 303, 400, 401, 404}
    for response in answers:
        for name, value in SECURITY_HEADERS:
            assert response.headers.get(name.decode()) == value.decode(), (response.url, name)
    policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy


def test_the_command_line_demands_a_token_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARSL_VISUALIZE_TOKEN", raising=False)
    assert token_for(parse_args([])) is None  # loopback: as before
    generated = token_for(parse_args(["--listen", "0.0.0.0"]))  # noqa: S104 - parsed, never bound
    assert generated is not None and len(generated) >= 40
    assert token_for(parse_args(["--listen", "0.0.0.0"])) != generated  # noqa: S104 - a new one each start
    assert token_for(parse_args(["--listen", "10.1.2.3", "--no-auth"])) is None
    assert token_for(parse_args(["--token", "mine"])) == "mine"  # loopback on a shared machine
    monkeypatch.setenv("PARSL_VISUALIZE_TOKEN", "from-env")
    assert token_for(parse_args(["--listen", "0.0.0.0"])) == "from-env"  # noqa: S104 - parsed, never bound


def test_no_auth_with_a_token_is_a_contradiction() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "parsl_visualize", "--no-auth", "--token", "x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--no-auth and a token" in result.stderr.splitlines()[-1]


def test_the_printed_address_works_and_the_token_is_never_logged(db_path: Path, port: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "parsl_visualize", str(db_path), "--port", str(port), "--debug"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PARSL_VISUALIZE_TOKEN": TOKEN},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        printed = line.rsplit(" at ", 1)[1].strip()
        assert printed == f"http://127.0.0.1:{port}/?token={TOKEN}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30)
        assert refused.value.code == 401
        refused.value.close()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with browser.open(printed, timeout=30) as response:
            assert response.status == 200 and response.url == f"http://127.0.0.1:{port}/"
            assert RUN in response.read().decode()
        with browser.open(f"http://127.0.0.1:{port}/workflow/{RUN}/", timeout=30) as response:  # the cookie
            assert response.status == 200
    finally:
        proc.send_signal(2)
        out, err = proc.communicate(timeout=30)
    assert '"GET /?token=[hidden] HTTP/1.1" 303' in out  # --debug logs every request, never the token
    assert TOKEN not in out + err


def test_the_footer_shows_the_database_path_only_with_debug(db: Database, client: Client) -> None:
    assert db.label not in client.get("/").text
    with TestClient(app=create_app(db, debug=True), base_url="http://127.0.0.1") as debugging:
        assert db.label in debugging.get("/").text


FORMULAS = ['=HYPERLINK("http://evil")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "-2+3", "\tx", "\rx"]


def test_csv_cells_never_start_a_formula(db_path: Path, client: Client) -> None:
    engine = create_engine(f"sqlite:///{db_path}")
    now = datetime.datetime(2026, 5, 1, 12)  # noqa: DTZ001 - the database's naive times
    with engine.begin() as conn:
        for i, app in enumerate(FORMULAS, start=1000):
            conn.execute(
                table_of(Task).insert(),
                {
                    "run_id": RUN,
                    "task_id": i,
                    "task_func_name": app,
                    "task_memoize": "False",
                    "task_time_invoked": now,
                    "task_fail_count": 0,
                    "task_fail_cost": 0.0,
                    "task_depends": "=1+1",
                },
            )
            conn.execute(
                table_of(Status).insert(),
                {"run_id": RUN, "task_id": i, "try_id": 0, "task_status_name": "pending", "timestamp": now},
            )
    engine.dispose()
    export = client.get(f"/workflow/{RUN}/tasks.csv").text
    rows = list(csv.reader(io.StringIO(export)))
    cells = [cell for row in rows[1:] for cell in row]
    starts = [cell for cell in cells if cell[:1] in {"=", "+", "-", "@", "\t", "\r"}]
    assert starts == []
    apps = {row[1] for row in rows[1:]}
    assert {"'" + app for app in FORMULAS} <= apps  # kept, readable, inert
