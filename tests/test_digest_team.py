"""`digest --per-assignee`, on both backends, through a real SMTP server on 127.0.0.1: each
assignee gets their own digest at their [users] address, with a guard of their own; one refused
or missing address never stops the others, and says whose it was."""

from __future__ import annotations

import re
import stat
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.fetched import Mention
from mentionwatch.store import MentionFilter, Store
from mentionwatch.timeutil import utcnow
from tests.history import database
from tests.mailserver import Received, free_port, smtp_server

runner = CliRunner()
USERS = '[users]\nalice = "Alice <alice@example.com>"\nbob = "bob@example.com"\n'
# Who each seeded mention is assigned to; "nobody" stays unassigned.
SEEDED = {"a1": "alice", "a2": "alice", "b1": "bob", "c1": "carol", "n1": None, "n2": None}


def config_file(tmp_path: Path, port: int, users: str = USERS, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[settings]\ndatabase = "{database(tmp_path / "m.db")}"\n\n'
        '[[accounts]]\nname = "brand"\nplatform = "hackernews"\nhandle = "brand"\n\n'
        f"{users}\n"
        '[digest]\nto = ["team@example.com"]\nfrom = "mentionwatch <mw@example.com>"\n'
        f"{extra}"
        f'[digest.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout = "5s"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def seed(tmp_path: Path, assigned: dict[str, str | None] = SEEDED) -> None:
    now = utcnow()
    found = [
        Mention(rid, f"https://news.example/{rid}", "fan", f"about {rid}", now - timedelta(hours=n))
        for n, rid in enumerate(assigned, start=1)
    ]
    with Store.open(database(tmp_path / "m.db")) as store:
        store.save_poll("brand", "hackernews", found, [], {}, now - timedelta(minutes=5))
        ids = {m.remote_id: m.id for m in store.mentions(MentionFilter(states=()), now)}
        for rid, user in assigned.items():
            if user:
                store.assign([ids[rid]], user, "lead", now)


def mw(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(config), "digest", *args])
    return result.exit_code, result.stdout, result.stderr


def by_recipient(messages: list[Received]) -> dict[str, EmailMessage]:
    return {",".join(m.rcpt_tos): m.parsed() for m in messages}


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def mentioned(text: str) -> set[str]:
    return set(re.findall(r"news\.example/(\w+)", text))


def test_each_assignee_gets_their_own_digest_and_nobody_gets_the_unassigned(
    tmp_path: Path,
) -> None:
    seed(tmp_path)
    with smtp_server(tmp_path) as server:
        config = config_file(tmp_path, server.port)
        code, out, err = mw(config, "--per-assignee", "--email")
        assert code == 13, err
        mail = by_recipient(server.inbox.messages)
        assert sorted(mail) == ["alice@example.com", "bob@example.com"]
        assert mail["alice@example.com"]["To"] == "Alice <alice@example.com>"
        assert mentioned(body(mail["alice@example.com"])) == {"a1", "a2"}
        assert mentioned(body(mail["bob@example.com"])) == {"b1"}
        assert "2 waiting" in str(mail["alice@example.com"]["Subject"])
        # carol has a mention but no address: one line names her, the others went out.
        assert "mentionwatch: carol's digest not sent: no address in [users]" in err
        assert "2 waiting mentions are assigned to nobody" in err
        assert "1 of 3 digests not sent (carol)" in err
        assert out == ""
        # Each guard is its own: a second run sends nobody anything, and says so per person.
        code, out, err = mw(config, "--per-assignee", "--email")
        assert len(server.inbox.messages) == 2
        assert re.search(r"alice's digest not sent: the last one went to Alice <alice@", err)
        assert re.search(r"bob's digest not sent: the last one went to bob@example.com", err)
        # ...and the team's digest was never blocked by them.
        code, out, err = mw(config, "--email")
        assert code == 0, err
        team = server.inbox.messages[-1]
        assert team.rcpt_tos == ["team@example.com"]
        assert mentioned(body(team.parsed())) == set(SEEDED)


def test_one_assignee_s_digest_does_not_block_another_s(tmp_path: Path) -> None:
    seed(tmp_path, {"a1": "alice", "b1": "bob"})
    with smtp_server(tmp_path) as server:
        config = config_file(tmp_path, server.port)
        code, _, err = mw(config, "--assignee", "alice", "--email", "--to", "alice@example.com")
        assert code == 0, err
        code, _, err = mw(config, "--per-assignee", "--email")
        assert code == 0, err
        assert [m.rcpt_tos for m in server.inbox.messages] == [
            ["alice@example.com"],
            ["bob@example.com"],
        ]
        assert "alice's digest not sent: the last one went to alice@example.com" in err
        assert "bob" not in err.replace("bob@example.com", "")


def test_a_refused_address_does_not_stop_the_others_and_is_sent_next_time(
    tmp_path: Path,
) -> None:
    seed(tmp_path, {"a1": "alice", "b1": "bob", "c1": "carol"})
    users = USERS + 'carol = "carol@example.com"\n'
    with smtp_server(tmp_path) as server:
        server.inbox.refuse.add("bob@example.com")
        config = config_file(tmp_path, server.port, users)
        code, _, err = mw(config, "--per-assignee", "--email")
        assert code == 13, err
        assert sorted(by_recipient(server.inbox.messages)) == [
            "alice@example.com",
            "carol@example.com",
        ]
        assert "mentionwatch: bob's digest not sent: SMTP 127.0.0.1:" in err
        assert "bob@example.com (550" in err
        assert "1 of 3 digests not sent (bob)" in err
        server.inbox.refuse.clear()
        code, _, err = mw(config, "--per-assignee", "--email")
        assert code == 0, err
        assert [m.rcpt_tos for m in server.inbox.messages[2:]] == [["bob@example.com"]]


def test_a_server_that_is_down_stops_the_round_and_records_nothing(tmp_path: Path) -> None:
    seed(tmp_path, {"a1": "alice", "b1": "bob"})
    config = config_file(tmp_path, free_port())
    code, _, err = mw(config, "--per-assignee", "--email")
    assert code == 7, err
    assert "connection refused" in err and "(not sent to alice, bob)" in err
    with Store.open(database(tmp_path / "m.db")) as store:
        assert store.last_digest("alice") is None and store.last_digest("bob") is None


def test_sendmail_gets_one_message_per_assignee(tmp_path: Path) -> None:
    seed(tmp_path, {"a1": "alice", "b1": "bob"})
    script = tmp_path / "fake-sendmail"
    script.write_text(f'#!/bin/sh\ncat > "$(mktemp "{tmp_path}/sent-XXXXXX")"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    config = config_file(tmp_path, free_port(), extra=f'sendmail = "{script}"\n')
    code, _, err = mw(config, "--per-assignee", "--sendmail")
    assert code == 0, err
    sent = [message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in tmp_path.glob("sent-*")]  # fmt: skip
    to = {str(m["To"]): m for m in sent if isinstance(m, EmailMessage)}
    assert sorted(to) == ["Alice <alice@example.com>", "bob@example.com"]
    assert mentioned(body(to["bob@example.com"])) == {"b1"}


def test_stdout_prints_each_digest_under_its_name_and_records_each(tmp_path: Path) -> None:
    seed(tmp_path, {"a1": "alice", "b1": "bob", "c1": "carol"})
    config = config_file(tmp_path, free_port())
    code, out, err = mw(config, "--per-assignee", "--stdout")
    assert code == 0, err  # no address is needed to print
    parts = re.split(r"^=== (\w+).*===$", out, flags=re.MULTILINE)[1:]
    digests = dict(zip(parts[::2], parts[1::2], strict=True))
    assert sorted(digests) == ["alice", "bob", "carol"]
    assert "=== alice <Alice <alice@example.com>> ===" not in out
    assert mentioned(digests["carol"]) == {"c1"}
    code, out, err = mw(config, "--per-assignee", "--stdout")
    assert out == "" and err.count("not sent: the last one went to") == 3


def test_a_preview_shows_everyone_s_and_records_nothing(tmp_path: Path) -> None:
    seed(tmp_path, {"a1": "alice", "c1": "carol"})
    config = config_file(tmp_path, free_port())
    code, out, err = mw(config, "--per-assignee", "--dry-run", "--email")
    assert code == 0, err
    assert "To: Alice <alice@example.com>" in out and "about a1" in out
    assert "about c1" not in out
    assert "A real run would not send carol's digest: no address in [users]" in err
    assert "bob" in out  # bob is in [users]: his digest says nothing waits
    with Store.open(database(tmp_path / "m.db")) as store:
        assert store.last_digest("alice") is None


@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("users", "message"),
    [
        ('[users]\nbob = "bob"\n', "[users]: key 'bob': 'bob' is not an email address"),
        ('[users]\nbob = "b@x.example\\r\\nBcc: e@x.example"\n', "[users]: key 'bob'"),
        ("[users]\nbob = 3\n", "[users]: key 'bob' must be an e-mail address"),
    ],
)
def test_a_bad_address_in_users_is_one_line_naming_it(
    tmp_path: Path, users: str, message: str
) -> None:
    config = config_file(tmp_path, free_port(), users)
    code, _, err = mw(config, "--per-assignee", "--email")
    assert code == 3 and message in err and str(config) in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.one_backend
def test_per_assignee_takes_no_to_and_no_selection(tmp_path: Path) -> None:
    config = config_file(tmp_path, free_port())
    for extra in (["--to", "x@example.com"], ["--mine"], ["--assignee", "bob"], ["--unassigned"]):
        code, _, err = mw(config, "--per-assignee", "--email", *extra)
        assert code == 2 and "--per-assignee" in err, err
