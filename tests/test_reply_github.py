"""Replying on GitHub: an issue comment, or a reply in a review comment's thread; faults."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import ReplyRefusedError, ReplyRejectedError
from mentionwatch.http import Http
from mentionwatch.models import State
from tests.conftest import FakeClock
from tests.fakes import (
    check_online,
    poll_through_store,
    reply_through_store,
    stored_mention,
    stored_replies,
    thread_of,
)
from tests.test_source_github import (
    FakeGitHubThreads,
    issue,
    issue_comment,
    json_response,
    make_account,
    notification,
    serve_notifications,
)


@pytest.fixture
def threaded() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def gh(threaded: HTTPServer) -> FakeGitHubThreads:
    """An issue mention (#42, comment 1002) and a review comment mention (#57, comment 2001)."""
    fake = FakeGitHubThreads(threaded)
    base = fake.base
    fake.issues[42] = issue(base, 900, 42, "It crashes on start", login="carol")
    fake.comments[42] = [
        issue_comment(base, 1001, "Same here", login="dave", created="2027-01-15T06:00:00Z"),
        issue_comment(base, 1002, "@octocat any news? \x1b]0;pwn\x07", number=42),
    ]
    fake.issues[57] = issue(base, 901, 57, "Fix the crash", pull=True)
    review = fake.review_comment(2001, 57, "@octocat is this lock needed?", "erin")
    serve_notifications(threaded, [
        notification(base, thread="1", latest=f"{base}/repos/acme/widgets/issues/comments/1002"),
        notification(base, thread="2", number=57, kind="PullRequest", latest=review["url"]),
    ])  # fmt: skip
    return fake


def polled(gh: FakeGitHubThreads, make_http: Callable[..., Http], db: Path) -> None:
    result, states = poll_through_store(make_account(gh.server), make_http(), db)
    assert result.ok, result.error
    assert set(states) == {"issuecomment-1002", "reviewcomment-2001"}


def test_an_issue_mention_gets_an_issue_comment_and_is_answered_by_it(
    gh: FakeGitHubThreads, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    db = tmp_path / "mw.db"
    polled(gh, make_http, db)

    outcome = reply_through_store(
        make_account(gh.server), make_http(), db, "issuecomment-1002", "Fixed in #57 ✅"
    )

    assert gh.posted == [("/issues/42/comments", {"body": "Fixed in #57 ✅"})]
    (request,) = [r for r, _ in gh.server.log if r.method == "POST"]
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert outcome.posted is not None and outcome.posted.remote_id == "issuecomment-5001"
    mention = stored_mention(db, "issuecomment-1002")
    assert mention.state is State.ANSWERED
    assert mention.answered_url == "https://github.com/acme/widgets/issues/42#issuecomment-5001"
    assert stored_replies(db) == [("issuecomment-5001", None, "acme/widgets#42")]
    assert stored_mention(db, "reviewcomment-2001").state is State.OPEN  # another thread


def test_a_review_comment_mention_is_answered_in_its_review_thread(
    gh: FakeGitHubThreads, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    db = tmp_path / "mw.db"
    polled(gh, make_http, db)

    reply_through_store(make_account(gh.server), make_http(), db, "reviewcomment-2001", "Yes")

    assert gh.posted == [("/pulls/57/comments/2001/replies", {"body": "Yes"})]
    assert stored_replies(db) == [("reviewcomment-5001", None, "acme/widgets#57")]
    assert stored_mention(db, "reviewcomment-2001").state is State.ANSWERED


def test_a_reply_then_a_poll_stores_one_reply_and_keeps_the_response_time(
    gh: FakeGitHubThreads, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    db = tmp_path / "mw.db"
    polled(gh, make_http, db)
    account = make_account(gh.server)
    reply_through_store(account, make_http(), db, "issuecomment-1002", "Fixed")
    before = stored_mention(db, "issuecomment-1002")

    result, _ = poll_through_store(account, make_http(), db)

    assert result.ok and result.new_replies == 0 and result.newly_answered == 0
    assert len(stored_replies(db)) == 1
    assert stored_mention(db, "issuecomment-1002").response_time == before.response_time


@pytest.mark.parametrize(
    ("status", "message", "kind", "said"),
    [
        (403, "Resource not accessible by personal access token", ReplyRefusedError,
         "public_repo"),
        (422, "Validation Failed", ReplyRejectedError, "Validation Failed"),
        (410, "Issue deleted", ReplyRejectedError, "gone"),
    ],
)  # fmt: skip
def test_a_refused_comment_changes_nothing_and_says_why(
    gh: FakeGitHubThreads,
    make_http: Callable[..., Http],
    tmp_path: Path,
    status: int,
    message: str,
    kind: type[Exception],
    said: str,
) -> None:
    db = tmp_path / "mw.db"
    polled(gh, make_http, db)
    gh.failures.append(json_response({"message": message}, status))

    with pytest.raises(kind, match=said) as caught:
        reply_through_store(make_account(gh.server), make_http(), db, "issuecomment-1002", "Hi")

    assert "ghp_" not in str(caught.value)
    assert stored_mention(db, "issuecomment-1002").state is State.OPEN and stored_replies(db) == []


def test_a_timeout_after_sending_finds_the_comment_instead_of_posting_again(
    gh: FakeGitHubThreads, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    db = tmp_path / "mw.db"
    polled(gh, make_http, db)
    gh.hang_after_post = 1.5

    outcome = reply_through_store(
        make_account(gh.server), make_http(timeout=0.5), db, "issuecomment-1002", "Fixed"
    )

    assert len(gh.posted) == 1 and outcome.checked_after_timeout
    assert stored_mention(db, "issuecomment-1002").state is State.ANSWERED


def test_a_secondary_rate_limit_is_waited_out_and_the_comment_posted_once(
    gh: FakeGitHubThreads, make_http: Callable[..., Http], tmp_path: Path, clock: FakeClock
) -> None:
    db = tmp_path / "mw.db"
    polled(gh, make_http, db)
    limited = {"message": "You have exceeded a secondary rate limit."}
    gh.failures.append(json_response(limited, 429, {"Retry-After": "4"}))

    reply_through_store(make_account(gh.server), make_http(), db, "issuecomment-1002", "Fixed")

    assert len(gh.posted) == 2 and len(gh.comments[42]) == 3 and 4.5 in clock.sleeps


def test_the_thread_is_the_description_then_the_earlier_comments(
    gh: FakeGitHubThreads, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    db = tmp_path / "mw.db"
    polled(gh, make_http, db)

    posts = thread_of(make_account(gh.server), make_http(), db, "issuecomment-1002")

    assert [(p.author, p.text) for p in posts] == [
        ("carol", "Widget crashes on start\n\nIt crashes on start"),
        ("dave", "Same here"),
    ]


def test_config_check_reads_the_scopes_for_replying(gh: FakeGitHubThreads) -> None:
    assert check_online(make_account(gh.server), replying=True)[1].endswith(
        "can reply (public_repo)"
    )
    gh.scopes = "notifications"

    ok, said = check_online(make_account(gh.server), replying=True)

    assert ok and "cannot reply" in said and "add public_repo" in said
