"""The digest: its settings, its sections, both parts of the message, and `mentionwatch digest`
end to end against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentionwatch import config as config_mod
from mentionwatch.cli import app
from mentionwatch.digest.model import collect, subject
from mentionwatch.digest.render import compose, plain_text
from mentionwatch.digest.settings import DigestSettings, digest_settings, for_delivery
from mentionwatch.errors import ConfigError, UsageError
from mentionwatch.fetched import Mention, Reply
from mentionwatch.models import SentDigest
from mentionwatch.store import Store
from mentionwatch.timeutil import utcnow
from tests.history import database
from tests.mailserver import PASSWORD, USER, free_port, smtp_server

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HOSTILE = (
    '<script>alert("x")</script><img src="https://evil.example/pixel.png"> '
    "\x1b[31mred\x1b[0m & 🎉 ünïcode"
)
ACCOUNTS = """
[[accounts]]
name = "brand"
platform = "mastodon"
server = "https://social.example"
handle = "brand"
token = "env:MASTODON_TOKEN"
sla = "1h"

[[accounts]]
name = "hn"
platform = "hackernews"
handle = "brand"
sla = "1d"
"""
runner = CliRunner()


def mention(rid: str, created: datetime, text: str = "", **kw: object) -> Mention:
    return Mention(
        remote_id=rid,
        url=f"https://social.example/@fan/{rid}",
        author="fan@elsewhere.example",
        text=text or f"hello {rid}",
        created_at=created,
        **kw,  # type: ignore[arg-type]
    )


def reply(rid: str, parent: str, created: datetime) -> Reply:
    return Reply(rid, f"https://social.example/@brand/{rid}", "brand", created, parent_id=parent)


def seed(store: Store, now: datetime) -> None:
    """One mention per section, seen at different times around a digest sent 8h before `now`."""
    h = timedelta(hours=1)
    store.save_poll(
        "brand", "mastodon",
        [mention("old-overdue", now - 10 * h), mention("answered-early", now - 12 * h)],
        [reply("r0", "answered-early", now - 11 * h)], {}, now - 9 * h,
    )  # fmt: skip
    store.save_poll("hn", "hackernews", [mention("old-waiting", now - 10 * h)], [], {}, now - 9 * h)
    store.save_poll(
        "brand", "mastodon",
        [mention("fresh", now - timedelta(minutes=30), HOSTILE, title="<b>Title</b>"),
         mention("answered-1h", now - 3 * h), mention("answered-20m", now - h),
         Mention("bad-link", "javascript:alert(1)", "mallory", "click me", now - 2 * h)],
        [reply("r1", "answered-1h", now - 2 * h),
         reply("r2", "answered-20m", now - timedelta(minutes=40))],
        {}, now - timedelta(minutes=10),
    )  # fmt: skip


def sent(at: datetime) -> SentDigest:
    return SentDigest(at, "smtp", ("team@example.com",), "<x@example.com>", "s", at, at)


@pytest.fixture
def config(write_config: object, tmp_path: Path) -> config_mod.Config:
    path = tmp_path / "config.toml"
    path.write_text(ACCOUNTS, encoding="utf-8")
    return config_mod.load(path)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(database(tmp_path / "m.db"))


# -- sections, subject and both parts ---------------------------------------------------------


def test_sections_sort_each_mention_once_oldest_first(
    store: Store, config: config_mod.Config
) -> None:
    seed(store, NOW)
    store.record_digest(sent(NOW - timedelta(hours=8)))
    digest = collect(store, config, DigestSettings(), NOW, store.last_digest())
    ids = {s.key: [m.remote_id for m in s.items] for s in digest.sections}
    assert ids == {
        "overdue": ["old-overdue", "bad-link"],
        "new": ["fresh"],
        "waiting": ["old-waiting"],
        "answered": ["answered-1h", "answered-20m"],
    }
    assert digest.median_response == timedelta(minutes=40)
    assert digest.oldest is not None and digest.oldest.remote_id == "old-overdue"
    assert subject(digest, "mentionwatch") == "mentionwatch: 4 waiting (2 overdue), oldest 10h"


def test_first_digest_counts_new_and_answered_over_min_interval(
    store: Store, config: config_mod.Config
) -> None:
    seed(store, NOW)
    settings = DigestSettings(min_interval=timedelta(hours=20))
    digest = collect(store, config, settings, NOW, None)
    assert digest.first and digest.since == NOW - timedelta(hours=20)
    assert [m.remote_id for m in digest.answered.items] == [
        "answered-early", "answered-1h", "answered-20m",
    ]  # fmt: skip
    assert {m.remote_id for m in digest.new.items} == {"fresh", "old-waiting"}
    assert "First digest" in plain_text(digest, "mentionwatch")


def test_long_sections_are_cut_and_say_how_many_more(
    store: Store, config: config_mod.Config
) -> None:
    old = [mention(f"m{i}", NOW - timedelta(hours=5, minutes=i)) for i in range(7)]
    store.save_poll("brand", "mastodon", old, [], {}, NOW - timedelta(hours=1))
    digest = collect(store, config, DigestSettings(max_items=3), NOW, None)
    assert digest.overdue.total == 7 and len(digest.overdue.items) == 3
    assert [m.remote_id for m in digest.overdue.items] == ["m6", "m5", "m4"]
    assert "… and 4 more: mentionwatch list" in plain_text(digest, "mentionwatch")


def test_nothing_waiting_says_so_in_subject_and_text(
    store: Store, config: config_mod.Config
) -> None:
    digest = collect(store, config, DigestSettings(), NOW, None)
    assert subject(digest, "mw") == "mw: nothing waiting"
    assert "Nothing waiting" in plain_text(digest, "mw")


def test_plain_part_has_every_field_and_no_control_characters(
    store: Store, config: config_mod.Config
) -> None:
    seed(store, NOW)
    store.record_digest(sent(NOW - timedelta(hours=8)))
    text = plain_text(collect(store, config, DigestSettings(), NOW, store.last_digest()), "mw")
    assert "Answered: 2, median response 40m · Waiting: 4 (2 overdue), oldest 10h" in text
    assert "OVERDUE (2)" in text and "NEW SINCE THE LAST DIGEST (1)" in text
    assert "STILL WAITING (1)" in text and "ANSWERED SINCE THE LAST DIGEST (2)" in text
    assert "30m · 30m left · mastodon/brand · fan@elsewhere.example" in text
    assert "answered after 1h · mastodon/brand" in text
    assert "https://social.example/@fan/fresh" in text
    assert "🎉 ünïcode" in text and "\x1b" not in text


def message_for(store: Store, config: config_mod.Config) -> EmailMessage:
    seed(store, NOW)
    store.record_digest(sent(NOW - timedelta(hours=8)))
    digest = collect(store, config, DigestSettings(), NOW, store.last_digest())
    settings = DigestSettings(to=("team@example.com",), sender="MW <mw@mail.example.com>")
    return compose(digest, settings, settings.to)


def html_of(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def test_html_part_escapes_mention_text_and_links_only_to_http(
    store: Store, config: config_mod.Config
) -> None:
    html = html_of(message_for(store, config))
    assert "<script" not in html and "<img" not in html
    assert re.search(r"<[a-z]+[^>]*\bsrc=", html) is None  # nothing is ever loaded
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Title&lt;/b&gt;" in html and "\x1b" not in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert "https://social.example/@fan/fresh" in hrefs
    assert hrefs and all(h.startswith("https://") for h in hrefs)
    assert "javascript:alert(1)" in html  # shown as text, never as a link
    assert "🎉 ünïcode" in html and '<meta charset="utf-8">' in html


def test_message_is_multipart_alternative_with_the_essential_headers(
    store: Store, config: config_mod.Config
) -> None:
    message = message_for(store, config)
    assert message.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in message.iter_parts())
    assert message["Subject"] == "mentionwatch: 4 waiting (2 overdue), oldest 10h"
    assert message["To"] == "team@example.com"
    assert str(message["Message-ID"]).endswith("@mail.example.com>")
    assert parsedate_to_datetime(str(message["Date"])) == NOW
    assert message["Auto-Submitted"] == "auto-generated"


# -- settings -----------------------------------------------------------------------------------


def settings_from(write_config: object, tmp_path: Path, digest: str) -> DigestSettings:
    path = tmp_path / "config.toml"
    path.write_text(digest, encoding="utf-8")
    path.chmod(0o600)
    return digest_settings(config_mod.load(path))


FULL = """
[digest]
to = ["team@example.com", "Ops <ops@example.com>"]
from = "mentionwatch <mw@example.com>"
min_interval = "12h"
subject_prefix = "[mw]"
max_items = 20

[digest.smtp]
host = "smtp.example.com"
security = "ssl"
username = "mw"
password = "env:SMTP_PASSWORD"
ca_file = "ca.pem"
timeout = "10s"
"""


def test_full_digest_config_is_read_and_password_comes_from_env(
    write_config: object, tmp_path: Path
) -> None:
    (tmp_path / "ca.pem").write_text("x")
    settings = settings_from(write_config, tmp_path, FULL)
    assert settings.to == ("team@example.com", "Ops <ops@example.com>")
    assert settings.min_interval == timedelta(hours=12) and settings.max_items == 20
    assert settings.smtp is not None and settings.smtp.port == 465
    assert settings.smtp.ca_file == tmp_path / "ca.pem"
    env: dict[str, str] = {"SMTP_PASSWORD": "pw"}
    ready = for_delivery(settings, "smtp", read_env=env.get)
    assert ready.smtp is not None and ready.smtp.password == "pw"
    assert "pw" not in repr(ready)
    with pytest.raises(ConfigError, match=r"\[digest.smtp\]: key 'password'.*SMTP_PASSWORD"):
        no_env: dict[str, str] = {}
        for_delivery(settings, "smtp", read_env=no_env.get)


@pytest.mark.parametrize(
    ("digest", "error"),
    [
        ('[digest]\ntoo = ["a@example.com"]', r"\[digest\]: unknown key 'too'"),
        ('[digest]\nto = ["not an address"]', r"key 'to': 'not an address' is not an email"),
        ('[digest]\nfrom = "a@example.com\\nBcc: x@evil.example"', r"key 'from'"),
        ('[digest]\nmin_interval = "soon"', r"key 'min_interval': 'soon' is not a duration"),
        ("[digest]\nmax_items = 0", r"key 'max_items' must be at least 1"),
        ("[digest.smtp]\nport = 25", r"\[digest.smtp\]: key 'host' is required"),
        ('[digest.smtp]\nhost = "h"\nsecurity = "tls"', r"key 'security' must be"),
        ('[digest.smtp]\nhost = "h"\nport = 70000', r"key 'port' must be at most 65535"),
        ('[digest.smtp]\nhost = "h"\nport = "25"', r"key 'port' must be a int"),
        ('[digest.smtp]\nhost = "h"\npassword = "env:P"', r"a password needs key 'username'"),
        (
            '[digest.smtp]\nhost = "smtp.example.com"\nsecurity = "none"\nusername = "u"',
            r"key 'security': \"none\" would send the password in clear text",
        ),
        ('[digest.smtp]\nhost = "h"\nca_file = "missing.pem"', r"key 'ca_file': .* not a file"),
        (
            '[digest.smtp]\nhost = "h"\nusername = "u"\npassword = "p"\npassword_file = "f"',
            r"give 'password' or 'password_file', not both",
        ),  # fmt: skip
    ],
)
def test_every_digest_config_mistake_names_file_and_key(
    write_config: object, tmp_path: Path, digest: str, error: str
) -> None:
    with pytest.raises(ConfigError, match=error) as caught:
        settings_from(write_config, tmp_path, digest)
    assert str(caught.value).startswith(str(tmp_path / "config.toml"))


def test_a_password_in_a_readable_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[digest.smtp]\nhost = "h"\nusername = "u"\npassword = "hunter2"\n')
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600") as caught:
        digest_settings(config_mod.load(path))
    assert "hunter2" not in str(caught.value)


def test_sending_needs_recipients_sender_and_a_server(write_config: object, tmp_path: Path) -> None:
    settings = settings_from(write_config, tmp_path, '[digest]\nfrom = "mw@example.com"\n')
    assert for_delivery(settings, "stdout") == settings
    with pytest.raises(ConfigError, match="key 'to' is required"):
        for_delivery(settings, "sendmail")
    with pytest.raises(ConfigError, match=r"\[digest.smtp\] is required"):
        for_delivery(settings, "smtp", ["a@example.com"])
    with pytest.raises(UsageError, match="--to: 'nobody' is not an email address"):
        for_delivery(settings, "sendmail", ["nobody"])


# -- the command, end to end --------------------------------------------------------------------


def cli_config(tmp_path: Path, port: int, extra: str = "", security: str = "none") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[settings]\ndatabase = "{database(tmp_path / "m.db")}"\n{ACCOUNTS}\n'
        '[digest]\nto = ["team@example.com"]\nfrom = "mentionwatch <mw@example.com>"\n'
        f'[digest.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n'
        f'timeout = "5s"\n{extra}',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def mw(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(config), "digest", *args])
    return result.exit_code, result.stdout, result.stderr


def seeded(tmp_path: Path) -> None:
    with Store.open(database(tmp_path / "m.db")) as store:
        seed(store, utcnow())


def recorded(tmp_path: Path) -> SentDigest | None:
    with Store.open(database(tmp_path / "m.db")) as store:
        return store.last_digest()


def test_email_twice_sends_one_message_and_the_second_run_says_why(tmp_path: Path) -> None:
    seeded(tmp_path)
    with smtp_server(tmp_path) as server:
        config = cli_config(tmp_path, server.port)
        assert mw(config, "--email") == (0, "", "")
        code, out, err = mw(config, "--email")
        assert code == 0 and out == ""
        assert re.search(r"digest not sent: the last one went to team@example.com \d+s ago", err)
        assert "--force" in err
    [got] = server.inbox.messages
    assert got.rcpt_tos == ["team@example.com"]
    message = got.parsed()
    assert message["Subject"].startswith("mentionwatch: 4 waiting (2 overdue), oldest 10h")
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    html = html_of(message)
    assert "<script" not in html and "&lt;script&gt;" in html and "🎉" in html
    assert all(h.startswith("https://") for h in re.findall(r'href="([^"]*)"', html))
    last = recorded(tmp_path)
    assert last is not None and last.message_id == message["Message-ID"]
    assert last.recipients == ("team@example.com",) and last.counts["overdue"] == 2


def test_force_sends_again_within_min_interval(tmp_path: Path) -> None:
    seeded(tmp_path)
    with smtp_server(tmp_path) as server:
        config = cli_config(tmp_path, server.port)
        assert mw(config, "--email")[0] == 0
        assert mw(config, "--email", "--force")[0] == 0
    assert len(server.inbox.messages) == 2


def test_a_failed_send_is_not_recorded_and_the_next_run_sends_it(tmp_path: Path) -> None:
    seeded(tmp_path)
    code, out, err = mw(cli_config(tmp_path, free_port()), "--email")
    assert code == 7 and out == ""
    assert "digest not sent: SMTP 127.0.0.1:" in err and "connection refused" in err
    assert recorded(tmp_path) is None
    with smtp_server(tmp_path) as server:
        config = cli_config(tmp_path, server.port)
        assert mw(config, "--email")[0] == 0
        assert mw(config, "--email")[0] == 0
    assert len(server.inbox.messages) == 1


def test_bad_credentials_exit_7_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded(tmp_path)
    monkeypatch.setenv("SMTP_PASSWORD", "not-" + PASSWORD)
    auth = f'username = "{USER}"\npassword = "env:SMTP_PASSWORD"\n'
    with smtp_server(tmp_path, auth=True) as server:
        code, out, err = mw(cli_config(tmp_path, server.port, auth), "--email")
        assert code == 7 and "authentication failed" in err and PASSWORD not in out + err
        monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
        assert mw(cli_config(tmp_path, server.port, auth), "--email")[0] == 0
    assert server.inbox.logins == [USER]


def test_starttls_with_ca_file_and_to_override(tmp_path: Path) -> None:
    seeded(tmp_path)
    with smtp_server(tmp_path, security="starttls") as server:
        config = cli_config(tmp_path, server.port, 'ca_file = "ca.pem"\n', "starttls")
        assert mw(config, "--email", "--to", "a@example.com", "--to", "b@example.com")[0] == 0
    [got] = server.inbox.messages
    assert got.rcpt_tos == ["a@example.com", "b@example.com"]
    assert got.parsed()["To"] == "a@example.com, b@example.com"


def test_dry_run_shows_the_message_and_sends_nothing(tmp_path: Path) -> None:
    seeded(tmp_path)
    with smtp_server(tmp_path) as server:
        config = cli_config(tmp_path, server.port)
        code, out, _ = mw(config, "--email", "--dry-run")
        assert code == 0 and server.inbox.messages == [] and recorded(tmp_path) is None
        assert "To: team@example.com" in out and "Subject: mentionwatch: 4 waiting" in out
        assert "OVERDUE (2)" in out and "dry run: nothing sent" in out
        assert mw(config, "--email")[0] == 0
        assert "A real run would not send" in mw(config, "--email", "--dry-run")[2]
    assert len(server.inbox.messages) == 1


def test_stdout_prints_the_plain_text_once_for_crons_mailto(tmp_path: Path) -> None:
    seeded(tmp_path)
    config = cli_config(tmp_path, free_port())
    code, out, err = mw(config, "--stdout")
    assert code == 0 and err == ""
    assert out.startswith("mentionwatch digest, ") and "OVERDUE (2)" in out
    last = recorded(tmp_path)
    assert last is not None and last.channel == "stdout"
    code, out, err = mw(config, "--stdout")
    assert code == 0 and out == "" and "the last one went to stdout" in err
    due = last.sent_at + timedelta(hours=20)
    assert f"the next is due {due:%Y-%m-%d %H:%M} UTC (in 19h 59m" in err


@pytest.mark.sqlite_only  # compares the database file's bytes
def test_a_plain_digest_only_shows_it_wherever_its_output_goes(tmp_path: Path) -> None:
    """`digest | head` or `> /dev/null` once used up the day's digest (CliRunner's stdout is
    no terminal, like a pipe)."""
    seeded(tmp_path)
    db = tmp_path / "m.db"
    before = db.read_bytes()
    with smtp_server(tmp_path) as server:
        config = cli_config(tmp_path, server.port)
        for _ in range(3):
            code, out, err = mw(config)
            assert code == 0 and err == "" and "OVERDUE (2)" in out
        assert recorded(tmp_path) is None and db.read_bytes() == before
        assert mw(config, "--email") == (0, "", "")
    assert len(server.inbox.messages) == 1
    code, out, err = mw(config)  # a preview is never blocked, and says nothing about it
    assert code == 0 and "OVERDUE (2)" in out and err == ""


def test_stdout_and_email_are_one_choice(tmp_path: Path) -> None:
    seeded(tmp_path)
    config = cli_config(tmp_path, free_port())
    code, _, err = mw(config, "--stdout", "--email")
    assert code == 2 and "choose one" in err
    code, _, err = mw(config, "--stdout", "--to", "a@example.com")
    assert code == 2 and "--to needs --email or --sendmail" in err


def test_new_means_received_in_the_covered_window_even_on_the_first_digest(
    tmp_path: Path,
) -> None:
    """A first poll's backfill stores weeks-old mentions; the first digest called them new."""
    now = utcnow()
    with Store.open(database(tmp_path / "m.db")) as store:
        found = [mention("month-old", now - timedelta(days=28)),
                 mention("this-morning", now - timedelta(hours=2))]  # fmt: skip
        store.save_poll("hn", "hackernews", found, [], {}, now)
    config = cli_config(tmp_path, free_port())
    code, out, _ = mw(config, "--stdout")
    assert code == 0
    new = out.split("NEW IN THE LAST 20H (1)")[1]
    assert "this-morning" in new and "month-old" not in new
    overdue = out.split("OVERDUE (1)")[1].split("NEW IN")[0]
    assert "month-old" in overdue and " · new" not in overdue  # nor flagged "new" there
    # The next digest: a new account's backfill is old news too; a late-polled one is not.
    later = now + timedelta(hours=21)
    with Store.open(database(tmp_path / "m.db")) as store:
        last = store.last_digest()
        assert last is not None
        settings = digest_settings(config_mod.load(config))
        found = [mention("backfilled", now - timedelta(days=20)),
                 mention("late", last.covered_until - timedelta(minutes=5)),
                 mention("fresh-2", later - timedelta(hours=1))]  # fmt: skip
        store.save_poll("brand", "mastodon", found, [], {}, later)
        digest = collect(store, config_mod.load(config), settings, later, last)
    shown = {m.id: m.remote_id for s in digest.sections for m in s.items}
    assert {shown[i] for i in digest.new_ids} == {"late", "fresh-2"}


def test_if_any_prints_nothing_when_nothing_waits(tmp_path: Path) -> None:
    Store.open(database(tmp_path / "m.db")).close()
    config = cli_config(tmp_path, free_port())
    assert mw(config, "--if-any") == (0, "", "")
    assert mw(config, "--email", "--if-any") == (0, "", "")
    assert recorded(tmp_path) is None
    assert "Nothing waiting" in mw(config)[1]


def test_sendmail_gets_the_message_and_it_is_recorded(tmp_path: Path) -> None:
    seeded(tmp_path)
    script = tmp_path / "fake-sendmail"
    script.write_text(f'#!/bin/sh\ncat > "{tmp_path}/sent.eml"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    config = cli_config(tmp_path, free_port())
    text = config.read_text().replace("[digest]\n", f'[digest]\nsendmail = "{script}"\n')
    config.write_text(text)
    assert mw(config, "--sendmail") == (0, "", "")
    assert b"multipart/alternative" in (tmp_path / "sent.eml").read_bytes()
    last = recorded(tmp_path)
    assert last is not None and last.channel == "sendmail"


def test_usage_and_config_mistakes_exit_2_and_3(tmp_path: Path) -> None:
    config = cli_config(tmp_path, free_port())
    assert mw(config, "--email", "--sendmail")[0] == 2
    assert mw(config, "--to", "a@example.com")[0] == 2
    config.write_text(f'[settings]\ndatabase = "{database(tmp_path / "m.db")}"\n{ACCOUNTS}')
    code, _, err = mw(config, "--email")
    assert code == 3 and "key 'to' is required" in err


def test_config_check_catches_a_digest_mistake_before_cron_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTODON_TOKEN", "t")
    config = cli_config(tmp_path, free_port(), 'ca_file = "missing.pem"\n')
    result = runner.invoke(app, ["--config", str(config), "config", "check"])
    assert result.exit_code == 3 and "[digest.smtp]: key 'ca_file'" in result.stderr
