"""Replying on GitHub: an issue comment, or a reply in a review comment's thread; faults."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import ReplyRefusedError, ReplyRejectedError
from mentionwatch.http import Http
from mentionwatch.models import State
from tests.conftest import FakeClock
from tests.fakes import (
    ReplyBench,
    check_online,
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


@pytest.fixture
def bench(gh: FakeGitHubThreads, make_http: Callable[..., Http], tmp_path: Path) -> ReplyBench:
    return ReplyBench(make_account(gh.server), make_http, tmp_path / "mw.db")


def polled(bench: ReplyBench) -> None:
    result, states = bench.poll()
    assert result.ok, result.error
    assert set(states) == {"issuecomment-1002", "reviewcomment-2001"}


def test_an_issue_mention_gets_an_issue_comment_and_is_answered_by_it(
    gh: FakeGitHubThreads, bench: ReplyBench
) -> None:
    polled(bench)

    outcome = bench.reply("issuecomment-1002", "Fixed in #57 ✅")

    assert gh.posted == [("/issues/42/comments", {"body": "Fixed in #57 ✅"})]
    (request,) = [r for r, _ in gh.server.log if r.method == "POST"]
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert outcome.posted is not None and outcome.posted.remote_id == "issuecomment-5001"
    mention = bench.mention("issuecomment-1002")
    assert mention.state is State.ANSWERED
    assert mention.answered_url == "https://github.com/acme/widgets/issues/42#issuecomment-5001"
    assert bench.replies() == [("issuecomment-5001", None, "acme/widgets#42")]
    assert bench.mention("reviewcomment-2001").state is State.OPEN  # another thread


def test_a_review_comment_mention_is_answered_in_its_review_thread(
    gh: FakeGitHubThreads, bench: ReplyBench
) -> None:
    polled(bench)

    bench.reply("reviewcomment-2001", "Yes")

    assert gh.posted == [("/pulls/57/comments/2001/replies", {"body": "Yes"})]
    assert bench.replies() == [("reviewcomment-5001", None, "acme/widgets#57")]
    assert bench.mention("reviewcomment-2001").state is State.ANSWERED


def test_a_reply_then_a_poll_stores_one_reply_and_keeps_the_response_time(
    bench: ReplyBench,
) -> None:
    polled(bench)
    bench.reply("issuecomment-1002", "Fixed")
    before = bench.mention("issuecomment-1002")

    result, _ = bench.poll()

    assert result.ok and result.new_replies == 0 and result.newly_answered == 0
    assert len(bench.replies()) == 1
    assert bench.mention("issuecomment-1002").response_time == before.response_time


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
    status: int,
    message: str,
    kind: type[Exception],
    said: str,
    bench: ReplyBench,
) -> None:
    polled(bench)
    gh.failures.append(json_response({"message": message}, status))

    with pytest.raises(kind, match=said) as caught:
        bench.reply("issuecomment-1002", "Hi")

    assert "ghp_" not in str(caught.value)
    assert bench.mention("issuecomment-1002").state is State.OPEN and bench.replies() == []


def test_a_timeout_after_sending_finds_the_comment_instead_of_posting_again(
    gh: FakeGitHubThreads, bench: ReplyBench
) -> None:
    polled(bench)
    gh.hang_after_post = 1.5

    outcome = bench.reply("issuecomment-1002", "Fixed", http=bench.make_http(timeout=0.5))

    assert len(gh.posted) == 1 and outcome.checked_after_timeout
    assert bench.mention("issuecomment-1002").state is State.ANSWERED


def test_a_secondary_rate_limit_is_waited_out_and_the_comment_posted_once(
    gh: FakeGitHubThreads, clock: FakeClock, bench: ReplyBench
) -> None:
    polled(bench)
    limited = {"message": "You have exceeded a secondary rate limit."}
    gh.failures.append(json_response(limited, 429, {"Retry-After": "4"}))

    bench.reply("issuecomment-1002", "Fixed")

    assert len(gh.posted) == 2 and len(gh.comments[42]) == 3 and 4.5 in clock.sleeps


def test_the_thread_is_the_description_then_the_earlier_comments(bench: ReplyBench) -> None:
    polled(bench)

    posts = bench.thread("issuecomment-1002")

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
