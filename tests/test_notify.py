"""Alerts end to end: `poll` queues them in its transaction and delivers them to real
receivers on 127.0.0.1 (json://, form://, ntfy://, mailto://), each checked as it arrived.

Every test runs on a SQLite file and on PostgreSQL (conftest's BOTH_BACKENDS)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.config import load
from mentionwatch.notify.deliver import deliver_pending
from mentionwatch.store import Store
from mentionwatch.timeutil import utcnow
from tests import history
from tests.fakes import FakeMastodon, serve
from tests.mailserver import smtp_server
from tests.receivers import alert_config, feed_entry, receiver, write_feed

runner = CliRunner()
JOINER = "\u2060"


def mw(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), *args])
    return result.exit_code, result.output


def first_poll_then(config: Path, *entries: str) -> tuple[int, str]:
    """A first poll of an empty feed (nothing to alert), then a poll that finds `entries`."""
    code, output = mw(config, "poll")
    assert code == 0, output
    write_feed(config.with_name("alerts.atom"), *entries)
    return mw(config, "poll")


def test_new_mentions_arrive_once_as_one_json_message_with_title_and_items(
    tmp_path: Path,
) -> None:
    now = utcnow()
    with receiver() as hook:
        config = alert_config(
            tmp_path, f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/in"\n'
        )
        code, output = first_poll_then(
            config,
            feed_entry(1, now - timedelta(minutes=5), "ExampleCo opens in Lisbon"),
            feed_entry(2, now - timedelta(minutes=3), "ExampleCo hires 80 engineers"),
        )
        assert code == 0, output
        assert "alerts → hook: sent 2 alerts in one message" in output
        assert len(hook.accepted) == 1
        sent = hook.accepted[0].json()
        assert hook.accepted[0].path == "/in"
        assert sent["title"] == "mentionwatch: 2 new"
        body = sent["message"]
        assert body.startswith("New (2)\n")
        assert "ExampleCo opens in Lisbon" in body and "ExampleCo hires 80 engineers" in body
        assert "feed/alerts" in body and "News 1" in body and "min left" not in body
        assert "https://news.example.com/story/1" in body
        assert body.index("Lisbon") < body.index("hires")  # oldest first

        code, output = mw(config, "poll")  # nothing new: nothing sent again
        assert code == 0 and len(hook.accepted) == 1, output


def test_a_first_poll_sends_one_summary_not_a_message_per_old_mention(tmp_path: Path) -> None:
    now = utcnow()
    with receiver() as hook:
        config = alert_config(tmp_path, f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/"\n')
        entries = [feed_entry(n, now - timedelta(hours=n), f"old story {n}") for n in range(1, 26)]
        write_feed(tmp_path / "alerts.atom", *entries)
        code, output = mw(config, "poll")
        assert code == 0, output
        assert len(hook.accepted) == 1
        body = hook.accepted[0].json()["message"]
        assert body == (
            "First poll of alerts: 25 mentions from the last 30d, 25 overdue; "
            "see `mentionwatch list`."
        )
        assert "old story" not in body
        mw(config, "poll")
        assert len(hook.accepted) == 1


def test_form_and_ntfy_targets_each_get_the_message(tmp_path: Path) -> None:
    now = utcnow()
    with receiver() as form, receiver("ntfy") as ntfy:
        config = alert_config(
            tmp_path,
            f'[[notify]]\nname = "form"\nurl = "form://{form.base}/alerts"\n\n'
            f'[[notify]]\nname = "phone"\nurl = "ntfy://{ntfy.base}/brand-mentions"\n',
        )
        code, output = first_poll_then(config, feed_entry(7, now, "Is ExampleCo down?"))
        assert code == 0, output
        assert len(form.accepted) == 1 and len(ntfy.accepted) == 1
        posted = form.accepted[0].form()
        assert posted["title"] == "mentionwatch: 1 new"
        assert "Is ExampleCo down?" in posted["message"]
        published = ntfy.accepted[0].json()
        assert published["topic"] == "brand-mentions"
        assert published["title"] == "mentionwatch: 1 new"
        assert "Is ExampleCo down?" in published["message"]


def test_hostile_text_is_escaped_for_markdown_and_cannot_ping_the_channel(
    tmp_path: Path,
) -> None:
    now = utcnow()
    hostile = "**FREE** [prize](https://evil.example) <!channel> @here @everyone <b>hi</b>"
    with receiver("ntfy") as ntfy:
        config = alert_config(
            tmp_path,
            f'[[notify]]\nname = "md"\nurl = "ntfy://{ntfy.base}/t?format=markdown"\n',
        )
        code, output = first_poll_then(
            config,
            feed_entry(3, now, hostile, url="https://x.example/@fan/1?q=<b>&r=)*_"),
        )
        assert code == 0, output
        request = ntfy.accepted[0]
        assert request.headers.get("X-Markdown") == "yes"
        body = request.json()["message"]
        assert "\\*\\*FREE\\*\\* \\[prize\\]\\(https://evil.example\\)" in body
        assert f"\\<\\!{JOINER}channel\\>" in body
        assert f"@{JOINER}here @{JOINER}everyone" in body
        assert "<b>" not in body and "@here" not in body and "<!channel>" not in body
        assert "https://x.example/@fan/1?q=%3Cb%3E&r=%29%2A%5F" in body


def test_an_email_target_gets_an_html_message_with_the_text_escaped(tmp_path: Path) -> None:
    now = utcnow()
    with smtp_server(tmp_path) as smtp:
        url = (
            f"mailto://127.0.0.1:{smtp.port}?from=bot@example.com&to=ops@example.com&mode=insecure"
        )
        config = alert_config(tmp_path, f'[[notify]]\nname = "mail"\nurl = "{url}"\n')
        code, output = first_poll_then(
            config, feed_entry(4, now, "<script>alert(1)</script> ExampleCo & co")
        )
        assert code == 0, output
        assert len(smtp.inbox.messages) == 1
        message = smtp.inbox.messages[0].parsed()
        assert message["Subject"] == "mentionwatch: 1 new"
        assert smtp.inbox.messages[0].rcpt_tos == ["ops@example.com"]
        html = message.get_body(("html",))
        assert html is not None
        content = html.get_content()
        assert "&lt;script&gt;alert(1)&lt;/script&gt; ExampleCo &amp; co" in content
        assert "<script>" not in content
        assert '<a href="https://news.example.com/story/4">' in content


def test_max_items_lists_that_many_and_counts_the_rest(tmp_path: Path) -> None:
    now = utcnow()
    with receiver() as hook:
        config = alert_config(
            tmp_path, f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/"\nmax_items = 3\n'
        )
        entries = [feed_entry(n, now - timedelta(seconds=n), f"story {n}") for n in range(1, 8)]
        code, output = first_poll_then(config, *entries)
        assert code == 0, output
        body = hook.accepted[0].json()["message"]
        assert body.count("story ") == 3
        assert body.endswith("… and 4 more")
        assert hook.accepted[0].json()["title"] == "mentionwatch: 7 new"


def test_due_soon_and_breached_are_raised_once_each_by_later_polls(tmp_path: Path) -> None:
    now = utcnow()
    with receiver() as hook:
        config = alert_config(tmp_path, f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/"\n')
        code, output = first_poll_then(
            config,
            feed_entry(1, now - timedelta(minutes=50), "due soon one"),
            feed_entry(2, now - timedelta(minutes=90), "overdue one"),
            feed_entry(3, now - timedelta(minutes=1), "fresh one"),
        )
        assert code == 0, output
        body = hook.accepted[0].json()["message"]
        assert hook.accepted[0].json()["title"] == "mentionwatch: 1 overdue, 1 due soon, 1 new"
        assert body.index("Overdue (1)") < body.index("overdue one") < body.index("Due soon (1)")
        assert body.index("due soon one") < body.index("New (1)") < body.index("fresh one")
        assert "overdue by 30m" in body
        for _ in range(2):
            mw(config, "poll")
        assert len(hook.accepted) == 1


def test_events_accounts_and_platforms_choose_what_a_target_gets(tmp_path: Path) -> None:
    now = utcnow()
    with receiver() as late, receiver() as other:
        config = alert_config(
            tmp_path,
            f'[[notify]]\nname = "late"\nurl = "json://{late.base}/"\nevents = ["breached"]\n\n'
            f'[[notify]]\nname = "other"\nurl = "json://{other.base}/"\n'
            'platforms = ["mastodon"]\n',
        )
        code, output = first_poll_then(
            config,
            feed_entry(1, now - timedelta(minutes=90), "overdue one"),
            feed_entry(2, now, "fresh one"),
        )
        assert code == 0, output
        assert len(late.accepted) == 1 and not other.accepted
        body = late.accepted[0].json()["message"]
        assert "overdue one" in body and "fresh one" not in body


def test_a_mention_handled_before_its_alert_went_out_is_dropped(tmp_path: Path) -> None:
    now = utcnow()
    with receiver() as hook:
        config = alert_config(tmp_path, f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/"\n')
        hook.down()
        code, output = first_poll_then(
            config, feed_entry(1, now, "answered meanwhile"), feed_entry(2, now, "still open")
        )
        assert code == 12, output
        code, output = mw(config, "notify", "pending")
        assert code == 0 and "answered meanwhile" in output and "still open" in output
        assert mw(config, "done", "1")[0] == 0
        hook.up()
        with Store.open(history.database(tmp_path / "m.db")) as store:
            outcomes = deliver_pending(store, load(config), utcnow() + timedelta(minutes=1))
        assert [(o.status, o.sent, o.dropped) for o in outcomes] == [("sent", 1, 1)]
        body = hook.accepted[0].json()["message"]
        assert "still open" in body and "answered meanwhile" not in body
        assert mw(config, "notify", "pending")[1].strip() == "No alerts waiting."


def test_quiet_hours_hold_alerts_then_send_them_as_one_message(tmp_path: Path) -> None:
    now = utcnow()
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    window = f"{start:%H:%M}-{end:%H:%M}"
    with receiver() as hook:
        config = alert_config(
            tmp_path,
            f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/"\nquiet_hours = "{window}"\n',
            settings='timezone = "UTC"\n',
        )
        code, output = first_poll_then(config, feed_entry(1, now, "during the night"))
        assert code == 0, output
        assert "alerts → hook: 1 held: quiet hours until" in output
        write_feed(
            tmp_path / "alerts.atom",
            feed_entry(1, now, "during the night"),
            feed_entry(2, now, "later that night"),
        )
        assert mw(config, "poll")[0] == 0
        assert not hook.requests
        with Store.open(history.database(tmp_path / "m.db")) as store:
            morning = end + timedelta(minutes=1)
            outcomes = deliver_pending(store, load(config), morning)
        assert [(o.status, o.sent) for o in outcomes] == [("sent", 2)]
        assert len(hook.accepted) == 1
        body = hook.accepted[0].json()["message"]
        assert "during the night" in body and "later that night" in body


def test_a_mention_answered_in_the_same_poll_raises_no_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_ = FakeMastodon()
    remote = app_.add_account("tok", "brand")
    with serve(app_) as url, receiver() as hook:
        config = tmp_path / "config.toml"
        db = history.database(tmp_path / "m.db")
        config.write_text(
            f'[settings]\ndatabase = "{db}"\nbackfill = "3650d"\n\n'
            f'[[accounts]]\nname = "masto"\nplatform = "mastodon"\nserver = "{url}"\n'
            'handle = "brand"\ntoken = "env:TOKEN"\n\n'
            f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/"\nevents = ["new"]\n'
        )
        config.chmod(0o600)
        monkeypatch.setenv("TOKEN", "tok")
        code, output = mw(config, "poll")  # the first poll: nothing there yet
        assert code == 0, output
        answered, waiting = app_.add_mentions(remote, 2)
        app_.add_reply(remote, answered)
        code, output = mw(config, "poll")
        assert code == 0, output
        assert len(hook.accepted) == 1
        body = hook.accepted[0].json()["message"]
        assert hook.accepted[0].json()["title"] == "mentionwatch: 1 new"
        assert f"/{waiting}" in body and f"/{answered}" not in body


@pytest.mark.one_backend
def test_on_postgresql_alerts_go_out_once_even_when_two_processes_deliver(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = utcnow()
    with receiver() as hook:
        monkeypatch.setenv("MENTIONWATCH_DB", pg_url)
        config = alert_config(tmp_path, f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/"\n')
        code, output = first_poll_then(config, feed_entry(1, now, "stored in PostgreSQL"))
        assert code == 0, output
        assert len(hook.accepted) == 1
        assert "stored in PostgreSQL" in hook.accepted[0].json()["message"]
        assert not (tmp_path / "m.db").exists()
        with Store.open(pg_url) as first, Store.open(pg_url) as second:
            with first.delivery_turn() as mine:
                assert mine
                with second.delivery_turn() as theirs:
                    assert not theirs  # the other poller waits for its turn
            with second.delivery_turn() as theirs:
                assert theirs
        assert mw(config, "poll")[0] == 0 and len(hook.accepted) == 1


def test_a_rule_s_shorter_sla_raises_due_soon_and_a_dismissing_rule_raises_nothing(
    tmp_path: Path,
) -> None:
    now = utcnow()
    with receiver() as hook:
        config = alert_config(
            tmp_path,
            f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/"\n'
            'events = ["due-soon", "breached", "new"]\n\n'
            '[[rules]]\nname = "urgent"\nmatch = "refund"\nsla = "10m"\n\n'
            '[[rules]]\nname = "spam"\nmatch = "giveaway"\ndismiss = "spam"\n',
        )
        code, output = first_poll_then(
            config,
            feed_entry(1, now - timedelta(minutes=9), "I want a refund"),
            feed_entry(2, now - timedelta(minutes=9), "nice update"),
            feed_entry(3, now, "free giveaway here"),
        )
        assert code == 0, output
        body = hook.accepted[0].json()["message"]
        assert hook.accepted[0].json()["title"] == "mentionwatch: 1 due soon, 1 new"
        assert body.index("Due soon (1)") < body.index("refund") < body.index("New (1)")
        assert "nice update" in body and "giveaway" not in body


def test_alerts_list_the_most_urgent_mention_first_then_the_oldest(tmp_path: Path) -> None:
    now = utcnow()
    with receiver() as hook:
        config = alert_config(
            tmp_path,
            f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/"\nevents = ["new"]\n'
            "max_items = 3\n\n"
            '[[rules]]\nname = "complaints"\nmatch = "refund"\npriority = "high"\n\n'
            '[[rules]]\nname = "chatter"\nmatch = "thanks"\npriority = "low"\n',
        )
        code, output = first_poll_then(
            config,
            feed_entry(1, now - timedelta(minutes=9), "thanks for the update"),
            feed_entry(2, now - timedelta(minutes=8), "nice update"),
            feed_entry(3, now - timedelta(minutes=7), "another note"),
            feed_entry(4, now, "I want a refund"),
        )
        assert code == 0, output
        body = hook.accepted[0].json()["message"]
        # The newest, a complaint, comes first; then normal oldest first; the low one is left
        # out by max_items rather than a normal one.
        assert body.index("refund") < body.index("nice update") < body.index("another")
        assert "thanks for the update" not in body
