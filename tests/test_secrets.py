"""Secrets never reach stdout, stderr, the --verbose log, the database or a message.

Fake platforms that echo the whole request (URL and query, every header, the body, and the
Basic-auth header decoded) back into their error bodies, in every shape a source quotes.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from mentionwatch.cli import app
from mentionwatch.digest.mail import send_smtp
from mentionwatch.store import Store
from mentionwatch.store.lock import poll_lock

runner = CliRunner()

SECRETS = {
    "MW_MASTODON_TOKEN": "mastodon-secret-token-Zk3q9",
    "MW_GITHUB_TOKEN": "ghp_githubsecrettoken0123456789abcdefXYZ",
    "MW_TWITTER_TOKEN": "AAAAAAAAAAAAAAAAAAAAAtwittersecret%2Bbearer%3Dtoken",
    "MW_REDDIT_SECRET": "reddit-client-secret-Qw8",
    "MW_REDDIT_PASSWORD": "reddit-password-Hn4",
    "MW_REDDIT_REFRESH": "reddit-refresh-token-Lp2",
    "MW_BSKY_PASSWORD": "bsky-app-pass-abcd-efgh",
}
ACCESS_JWT = "eyJhbGciOiJIUzI1NiJ9.access-jwt-secret-part.sig1"
REFRESH_JWT = "eyJhbGciOiJIUzI1NiJ9.refresh-jwt-secret-part.sig2"
REDDIT_ACCESS = "reddit-oauth-access-token-Vb7"
FEED_KEY = "feedkey-secret-Rt5"
RUNTIME = (ACCESS_JWT, REFRESH_JWT, REDDIT_ACCESS, FEED_KEY)


def forbidden() -> list[str]:
    """Every secret, and the forms an echo could carry it in (base64, URL-encoded halves)."""
    values = [*SECRETS.values(), *RUNTIME]
    basic = base64.b64encode(b"reddit-app:" + SECRETS["MW_REDDIT_SECRET"].encode()).decode()
    return [*values, basic, *(v[: len(v) // 2 + 4] for v in values)]


class Echo:
    """Answers `status` with the request echoed in every field a source might quote."""

    def __init__(self) -> None:
        self.status = 400
        self.sessions = True  # Bluesky/Reddit logins succeed, so the session tokens get used
        self.pad = 0  # where the secrets start: messages quote the first N characters

    def __call__(self, request: Request) -> Response:
        path = request.path
        if self.sessions and path.endswith(("createSession", "refreshSession")):
            return _json(200, {"accessJwt": ACCESS_JWT, "refreshJwt": REFRESH_JWT,
                               "did": "did:plc:brand", "handle": "brand.example"})  # fmt: skip
        if self.sessions and path == "/api/v1/access_token":
            return _json(200, {"access_token": REDDIT_ACCESS, "token_type": "bearer"})
        auth = request.headers.get("Authorization", "")
        decoded = ""
        if auth.lower().startswith("basic "):
            decoded = base64.b64decode(auth.split()[1]).decode(errors="replace")
        echo = (
            f"you sent {request.method} {'.' * self.pad}auth={auth} basic={decoded} "
            f"body={request.get_data(as_text=True)} url={request.url} "
            f"headers={dict(request.headers)}"
        )
        body = {"error": echo, "message": echo, "detail": echo, "title": echo,
                "errors": [{"message": echo, "detail": echo}]}  # fmt: skip
        return _json(self.status, body)


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


def config_for(tmp_path: Path, base: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""[settings]
database = "{tmp_path / "mw.db"}"
retries = 0
max_wait = "1s"

[[accounts]]
name = "masto"
platform = "mastodon"
server = "{base}"
handle = "brand"
token = "env:MW_MASTODON_TOKEN"
keywords = ["brand"]

[[accounts]]
name = "gh"
platform = "github"
server = "{base}"
handle = "brand"
token = "env:MW_GITHUB_TOKEN"

[[accounts]]
name = "x"
platform = "twitter"
server = "{base}"
handle = "brand"
token = "env:MW_TWITTER_TOKEN"

[[accounts]]
name = "reddit-pw"
platform = "reddit"
server = "{base}"
auth_url = "{base}"
handle = "brand"
client_id = "reddit-app"
client_secret = "env:MW_REDDIT_SECRET"
password = "env:MW_REDDIT_PASSWORD"

[[accounts]]
name = "reddit-refresh"
platform = "reddit"
server = "{base}"
auth_url = "{base}"
handle = "brand"
client_id = "reddit-app"
client_secret = "env:MW_REDDIT_SECRET"
refresh_token = "env:MW_REDDIT_REFRESH"

[[accounts]]
name = "bsky"
platform = "bluesky"
server = "{base}"
handle = "brand.example"
app_password = "env:MW_BSKY_PASSWORD"
responders = ["helper.example"]

[[accounts]]
name = "private-feed"
platform = "feed"
url = "{base}/feed.atom?key={FEED_KEY}"
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def assert_no_secret(where: str, text: str) -> None:
    for secret in forbidden():
        assert secret not in text, f"{where} shows {secret!r}: …{_around(text, secret)}…"


def _around(text: str, secret: str) -> str:
    at = text.find(secret)
    return text[max(at - 80, 0) : at + len(secret) + 20]


def database_text(db: Path) -> str:
    """Every value of every table, the raw payloads and poll_runs.error included."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            repr(row) for table in tables for row in conn.execute(f"SELECT * FROM {table}")
        )


@pytest.fixture
def echo(httpserver: HTTPServer) -> Echo:
    handler = Echo()
    httpserver.expect_request(re.compile(".*")).respond_with_handler(handler)
    return handler


def invoke(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--verbose", "--config", str(config), *args], env=SECRETS)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 422, 429, 500])
@pytest.mark.parametrize("sessions", [True, False], ids=["logged-in", "login-refused"])
def test_no_secret_in_output_log_or_database_when_servers_echo_the_request(
    tmp_path: Path, httpserver: HTTPServer, echo: Echo, status: int, sessions: bool
) -> None:
    echo.status, echo.sessions = status, sessions
    poll_and_check(tmp_path, httpserver)


@pytest.mark.parametrize("pad", [20, 175, 190, 215, 230, 270, 290])
@pytest.mark.parametrize("status", [200, 400])
def test_no_part_of_a_secret_survives_where_a_message_is_cut(
    tmp_path: Path, httpserver: HTTPServer, echo: Echo, status: int, pad: int
) -> None:
    """Messages quote the first 40-300 characters of a body: a secret across the cut."""
    echo.status, echo.pad = status, pad
    poll_and_check(tmp_path, httpserver)


def poll_and_check(tmp_path: Path, httpserver: HTTPServer) -> None:
    config = config_for(tmp_path, httpserver.url_for("").rstrip("/"))
    code, out, err = invoke(config, "poll")
    assert code == 4, out + err  # every account failed, and said why
    assert "FAILED" in out
    assert_no_secret("poll stdout", out)
    assert_no_secret("poll stderr (--verbose request log)", err)
    assert_no_secret("the database", database_text(tmp_path / "mw.db"))
    code, out, err = invoke(config, "config", "check", "--online")
    assert code == 4, out + err
    assert_no_secret("config check --online", out + err)


def test_a_failed_poll_still_says_what_the_server_said(
    tmp_path: Path, httpserver: HTTPServer, echo: Echo
) -> None:
    """Redaction hides the secrets, not the rest of the message."""
    echo.status = 422
    config = config_for(tmp_path, httpserver.url_for("").rstrip("/"))
    code, out, _ = invoke(config, "poll")
    assert code == 4 and "you sent GET" in out and "***" in out


def test_config_check_hides_a_private_feed_key(tmp_path: Path) -> None:
    config = config_for(tmp_path, "https://feeds.example")
    code, out, err = invoke(config, "config", "check")
    assert code == 0, out + err
    assert "https://feeds.example/feed.atom" in out
    assert_no_secret("config check", out + err)


def test_a_secret_in_the_config_file_is_never_shown(
    tmp_path: Path, write_config: Callable[[str], Path]
) -> None:
    token = SECRETS["MW_MASTODON_TOKEN"]
    config = write_config(
        f'[[accounts]]\nname = "m"\nplatform = "mastodon"\nserver = "https://m.example"\n'
        f'handle = "brand"\ntoken = "{token}"\n'
    )
    code, out, err = invoke(config, "config", "check")
    assert code == 0 and token not in out + err and "config file" in out
    config.chmod(0o644)  # readable by others: refused, without quoting the secret
    code, out, err = invoke(config, "config", "check")
    assert code == 3 and token not in out + err


# -- SMTP ---------------------------------------------------------------------------------


def test_smtp_password_is_not_shown_when_the_server_echoes_the_login() -> None:
    """A server that quotes the AUTH exchange in its refusal (base64 or decoded)."""
    import socket
    import threading

    from mentionwatch.digest.settings import SmtpSettings

    password = "smtp-Passw0rd-secret"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rwb") as stream:
            stream.write(b"220 echo ESMTP\r\n")
            stream.flush()
            while line := stream.readline():
                said = line.strip()
                if said.upper().startswith(b"EHLO"):
                    stream.write(b"250-echo\r\n250 AUTH PLAIN\r\n")
                elif said.upper().startswith(b"AUTH"):
                    blob = said.split()[-1]
                    plain = base64.b64decode(blob).replace(b"\0", b" ")
                    stream.write(b"535 5.7.8 refused " + blob + b" = " + plain + b"\r\n")
                else:
                    stream.write(b"221 bye\r\n")
                    stream.flush()
                    return
                stream.flush()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    from datetime import timedelta
    from email.message import EmailMessage

    smtp = SmtpSettings(host="127.0.0.1", port=port, security="none", username="bot",
                        password=password, timeout=timedelta(seconds=5))  # fmt: skip
    message = EmailMessage()
    message["Subject"] = "x"
    message.set_content("x")
    from mentionwatch.errors import DeliveryError

    with pytest.raises(DeliveryError) as caught:
        send_smtp(message, smtp, "mw@example.com", ["team@example.com"])
    thread.join(5)
    listener.close()
    text = str(caught.value)
    assert "authentication failed" in text
    encoded = base64.b64encode(f"\0bot\0{password}".encode()).decode()
    assert password not in text and encoded not in text, text


# -- files that may hold private data -------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_its_wal_and_the_lock_file_are_private(tmp_path: Path) -> None:
    from mentionwatch.store import Store

    old = os.umask(0o022)
    try:
        db = tmp_path / "data" / "mw.db"
        with Store.open(db) as store, poll_lock(db, 0):
            store.record_run("a", "feed", _now(), _now(), None, None)
            for path in (db, db.with_name("mw.db-wal"), db.with_name("mw.db.lock")):
                if path.exists():
                    assert _mode(path) == 0o600, path
    finally:
        os.umask(old)


def test_init_writes_the_config_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        config = tmp_path / "new" / "config.toml"
        result = runner.invoke(app, ["--config", str(config), "init"])
        assert result.exit_code == 0, result.output
        assert _mode(config) == 0o600
    finally:
        os.umask(old)


def test_export_files_are_private(tmp_path: Path) -> None:
    config = config_for(tmp_path, "https://feeds.example")
    Store.open(tmp_path / "mw.db").close()
    old = os.umask(0o022)
    try:
        target = tmp_path / "out.csv"
        code, out, err = invoke(config, "export", "--output", str(target))
        assert code == 0, err
        assert _mode(target) == 0o600
    finally:
        os.umask(old)


def _now() -> Any:
    from mentionwatch.timeutil import utcnow

    return utcnow()
