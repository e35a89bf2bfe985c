"""The GitHub source against a fake GitHub API that speaks the documented JSON and headers."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mentionwatch.errors import RateLimitedError, SourceError
from mentionwatch.fetched import Batch, Mention, Reply
from mentionwatch.http import Http
from mentionwatch.models import Account, Kind, State
from mentionwatch.quota import clock_text
from mentionwatch.sources.github import SOURCE, GitHubSource
from mentionwatch.sources.registry import PLATFORMS
from mentionwatch.store import MentionFilter, Store
from tests.conftest import FakeClock
from tests.fakes import check_online, poll_through_store, with_source

TOKEN = "ghp_R4nd0mT0kenV4lue0000000000000000000"
NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)  # FakeClock's start, 1_800_000_000
HORIZON = NOW - timedelta(days=3)
REPO = "acme/widgets"
GITHUB_HEADERS = {
    "X-RateLimit-Limit": "5000",
    "X-RateLimit-Remaining": "4990",
    "X-RateLimit-Used": "10",
    "X-RateLimit-Reset": "1800003600",
    "X-RateLimit-Resource": "core",
}


# ---- fixtures in GitHub's shapes ---------------------------------------------------------


def user(login: str) -> dict[str, Any]:
    return {
        "login": login,
        "id": abs(hash(login)) % 10_000_000,
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": f"https://avatars.githubusercontent.com/{login}",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def notification(
    server: str,
    *,
    thread: str = "1",
    reason: str = "mention",
    number: int = 42,
    kind: str = "Issue",
    latest: str | None = None,
    updated: str = "2027-01-15T07:00:00Z",
    title: str = "Widget crashes on start",
) -> dict[str, Any]:
    segment = "issues" if kind == "Issue" else "pulls"
    subject_url = f"{server}/repos/{REPO}/{segment}/{number}"
    return {
        "id": thread,
        "unread": True,
        "reason": reason,
        "updated_at": updated,
        "last_read_at": None,
        "subject": {
            "title": title,
            "url": subject_url,
            "latest_comment_url": latest or subject_url,
            "type": kind,
        },
        "repository": {
            "id": 1296269,
            "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
            "name": "widgets",
            "full_name": REPO,
            "private": False,
            "owner": user("acme"),
            "html_url": f"https://github.com/{REPO}",
        },
        "url": f"{server}/notifications/threads/{thread}",
        "subscription_url": f"{server}/notifications/threads/{thread}/subscription",
    }


def issue_comment(
    server: str,
    comment_id: int,
    body: str,
    *,
    login: str = "hubot",
    number: int = 42,
    created: str = "2027-01-15T06:59:00Z",
) -> dict[str, Any]:
    return {
        "id": comment_id,
        "node_id": "IC_kwDOAAABc84AAAAB",
        "url": f"{server}/repos/{REPO}/issues/comments/{comment_id}",
        "html_url": f"https://github.com/{REPO}/issues/{number}#issuecomment-{comment_id}",
        "body": body,
        "user": user(login),
        "created_at": created,
        "updated_at": created,
        "issue_url": f"{server}/repos/{REPO}/issues/{number}",
        "author_association": "CONTRIBUTOR",
    }


def issue(
    server: str,
    issue_id: int,
    number: int,
    body: str,
    *,
    login: str = "hubot",
    created: str = "2027-01-15T05:00:00Z",
    updated: str = "2027-01-15T07:00:00Z",
    pull: bool = False,
    title: str = "Widget crashes on start",
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": issue_id,
        "node_id": "I_kwDOAAABc84AAAAB",
        "url": f"{server}/repos/{REPO}/issues/{number}",
        "repository_url": f"{server}/repos/{REPO}",
        "comments_url": f"{server}/repos/{REPO}/issues/{number}/comments",
        "html_url": f"https://github.com/{REPO}/{'pull' if pull else 'issues'}/{number}",
        "number": number,
        "state": "open",
        "title": title,
        "body": body,
        "user": user(login),
        "labels": [],
        "comments": 1,
        "created_at": created,
        "updated_at": updated,
        "closed_at": None,
        "author_association": "NONE",
    }
    if pull:
        data["pull_request"] = {"url": f"{server}/repos/{REPO}/pulls/{number}"}
    return data


def event(
    event_id: int, kind: str, payload: dict[str, Any], *, created: str, login: str = "octocat"
) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "type": kind,
        "actor": {"id": 583231, "login": login, "display_login": login, "gravatar_id": ""},
        "repo": {"id": 1296269, "name": REPO, "url": f"https://api.github.com/repos/{REPO}"},
        "payload": payload,
        "public": True,
        "created_at": created,
    }


def comment_event(server: str, event_id: int, comment_id: int, number: int, at: str) -> Any:
    comment = issue_comment(server, comment_id, "Thanks, fixed in main.", login="octocat")
    comment.update(created_at=at, updated_at=at)
    comment["html_url"] = f"https://github.com/{REPO}/issues/{number}#issuecomment-{comment_id}"
    payload = {"action": "created", "issue": {"number": number}, "comment": comment}
    return event(event_id, "IssueCommentEvent", payload, created=at)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data),
        status=status,
        headers={**GITHUB_HEADERS, **(headers or {})},
        content_type="application/json; charset=utf-8",
    )


# ---- harness -----------------------------------------------------------------------------


def make_account(httpserver: HTTPServer, **options: Any) -> Account:
    return Account(
        name="gh-work",
        platform="github",
        server=httpserver.url_for("").rstrip("/"),
        handle="octocat",
        secrets={"token": options.pop("token", TOKEN)},
        secret_sources={"token": "env GITHUB_TOKEN"},
        **options,
    )


Call = Callable[..., Any]


@pytest.fixture
def call(make_http: Callable[..., Http], clock: FakeClock) -> Call:
    """Run one source method the way poll.py does, with a fresh Http on the fake clock."""

    def go(account: Account, method: str, *args: Any, **http_options: Any) -> Any:
        def action(source: GitHubSource) -> Any:
            return getattr(source, method)(*args)

        clocked = {"clock": clock.time}
        return with_source(make_http, account, action, source_options=clocked, **http_options)

    return go


def requests_to(httpserver: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in httpserver.log if request.path == path]


def serve_notifications(httpserver: HTTPServer, *pages: list[dict[str, Any]]) -> None:
    """Page N links to page N+1 the way GitHub does (`page=` in a Link header)."""
    url = httpserver.url_for("/notifications")

    def handler(request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        headers = {
            "Last-Modified": "Fri, 15 Jan 2027 07:00:00 GMT",
            "ETag": f'W/"notifications-{page}"',
            "X-Poll-Interval": "60",
        }
        if page < len(pages):
            headers["Link"] = (
                f'<{url}?all=true&participating=true&per_page=50&page={page + 1}>; rel="next", '
                f'<{url}?all=true&participating=true&per_page=50&page={len(pages)}>; rel="last"'
            )
        return json_response(pages[page - 1], headers=headers)

    httpserver.expect_request("/notifications").respond_with_handler(handler)


def listing_state(cursor: str, listing: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(json.loads(cursor)[listing])
    return state


def serve_json(httpserver: HTTPServer, path: str, data: Any, **kwargs: Any) -> None:
    httpserver.expect_request(path).respond_with_response(json_response(data, **kwargs))


# ---- mentions ----------------------------------------------------------------------------


def test_mention_is_the_comment_that_mentioned_the_user(httpserver: HTTPServer, call: Call) -> None:
    server = httpserver.url_for("").rstrip("/")
    comment = issue_comment(server, 1001, "@octocat can you look at the crash?")
    note = notification(server, latest=comment["url"])
    serve_notifications(httpserver, [note])
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1001", comment)

    batch = call(make_account(httpserver), "mentions", None, HORIZON)

    assert batch.items == [
        Mention(
            remote_id="issuecomment-1001",
            url="https://github.com/acme/widgets/issues/42#issuecomment-1001",
            author="hubot",
            text="@octocat can you look at the crash?",
            created_at=datetime(2027, 1, 15, 6, 59, tzinfo=UTC),
            kind=Kind.MENTION,
            thread_id="acme/widgets#42",
            title="Widget crashes on start",
            raw="",  # kept only with keep_raw (tests/test_keep_raw.py)
            context='{"thread":"acme/widgets#42"}',  # where a reply goes
        )
    ]
    (listing,) = requests_to(httpserver, "/notifications")
    assert listing.args.to_dict() == {
        "all": "true",
        "participating": "true",
        "since": "2027-01-12T08:00:00Z",
        "per_page": "50",
    }
    for request, _ in httpserver.log:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_notifications_for_other_reasons_cost_no_extra_requests(
    httpserver: HTTPServer, call: Call
) -> None:
    server = httpserver.url_for("").rstrip("/")
    notes = [
        notification(server, thread="7", reason="subscribed"),
        notification(server, thread="8", reason="review_requested", kind="PullRequest"),
    ]
    serve_notifications(httpserver, notes)

    batch = call(make_account(httpserver), "mentions", None, HORIZON)

    assert batch.items == []
    assert [r.path for r, _ in httpserver.log] == ["/notifications"]


def test_later_chatter_falls_back_to_the_latest_comment_that_mentions_the_user(
    httpserver: HTTPServer, call: Call
) -> None:
    server = httpserver.url_for("").rstrip("/")
    chatter = issue_comment(server, 1003, "+1, same here", login="someone")
    older = issue_comment(server, 1001, "@octocat first ping", created="2027-01-15T06:00:00Z")
    newer = issue_comment(server, 1002, "ping @OctoCat again", created="2027-01-15T06:30:00Z")
    serve_notifications(httpserver, [notification(server, latest=chatter["url"])])
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1003", chatter)
    serve_json(httpserver, "/repos/acme/widgets/issues/42/comments", [older, newer, chatter])

    batch = call(make_account(httpserver), "mentions", None, HORIZON)

    assert [m.remote_id for m in batch.items] == ["issuecomment-1002"]
    (listing,) = requests_to(httpserver, "/repos/acme/widgets/issues/42/comments")
    assert listing.args["since"] == "2027-01-12T08:00:00Z"


def test_deleted_latest_comment_falls_back_to_the_issue_description(
    httpserver: HTTPServer, call: Call
) -> None:
    server = httpserver.url_for("").rstrip("/")
    gone = f"{server}/repos/acme/widgets/issues/comments/999"
    serve_notifications(httpserver, [notification(server, latest=gone)])
    httpserver.expect_request("/repos/acme/widgets/issues/comments/999").respond_with_json(
        {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, status=404
    )
    serve_json(httpserver, "/repos/acme/widgets/issues/42/comments", [])
    body = issue(server, 5001, 42, "Crash on start, cc @octocat", created="2027-01-15T05:00:00Z")
    serve_json(httpserver, "/repos/acme/widgets/issues/42", body)

    batch = call(make_account(httpserver), "mentions", None, HORIZON)

    assert [(m.remote_id, m.url) for m in batch.items] == [
        ("issue-5001", "https://github.com/acme/widgets/issues/42")
    ]


def test_unreadable_private_repo_mention_is_kept_from_the_notification_alone(
    httpserver: HTTPServer, call: Call
) -> None:
    server = httpserver.url_for("").rstrip("/")
    comment_url = f"{server}/repos/acme/widgets/issues/comments/1001"
    note = notification(server, latest=comment_url, updated="2027-01-15T07:05:00Z")
    serve_notifications(httpserver, [note])
    not_found = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
    for path in ("/issues/comments/1001", "/issues/42/comments", "/issues/42"):
        httpserver.expect_request(f"/repos/acme/widgets{path}").respond_with_json(
            not_found, status=404
        )

    (mention,) = call(make_account(httpserver), "mentions", None, HORIZON).items

    assert (mention.remote_id, mention.url, mention.thread_id, mention.text) == (
        "notification-1",
        "https://github.com/acme/widgets/issues/42",
        "acme/widgets#42",
        "Widget crashes on start",
    )
    assert mention.created_at == datetime(2027, 1, 15, 7, 5, tzinfo=UTC)


def test_discussion_mention_links_to_the_repository(httpserver: HTTPServer, call: Call) -> None:
    server = httpserver.url_for("").rstrip("/")
    note = notification(server, thread="31", title="RFC: new widget API")
    note["subject"].update(url=None, latest_comment_url=None, type="Discussion")
    serve_notifications(httpserver, [note])

    (mention,) = call(make_account(httpserver), "mentions", None, HORIZON).items

    assert (mention.remote_id, mention.url, mention.thread_id, mention.title) == (
        "notification-31",
        "https://github.com/acme/widgets",
        None,
        "RFC: new widget API",
    )
    assert [r.path for r, _ in httpserver.log] == ["/notifications"]


def test_pull_request_description_mention_and_keyword_hit_are_stored_once(
    httpserver: HTTPServer, call: Call
) -> None:
    server = httpserver.url_for("").rstrip("/")
    pull = issue(server, 7001, 57, "Fixes the widget, @octocat please review", pull=True)
    note = notification(server, number=57, kind="PullRequest", title="Fix widget crash")
    serve_notifications(httpserver, [note])
    serve_json(httpserver, "/repos/acme/widgets/issues/57", pull)
    serve_json(httpserver, "/search/issues", {"total_count": 1, "incomplete_results": False,
                                              "items": [{**pull, "score": 1.0}]})  # fmt: skip

    batch = call(make_account(httpserver, keywords=("widget",)), "mentions", None, HORIZON)

    assert [(m.remote_id, m.kind, m.thread_id) for m in batch.items] == [
        ("issue-7001", Kind.MENTION, "acme/widgets#57")
    ]
    assert batch.items[0].url == "https://github.com/acme/widgets/pull/57"
    # The PR body was read through the issues endpoint, so its id is the search API's id.
    assert requests_to(httpserver, "/repos/acme/widgets/pulls/57") == []


def test_review_comment_mention_on_a_pull_request(httpserver: HTTPServer, call: Call) -> None:
    server = httpserver.url_for("").rstrip("/")
    review_comment: dict[str, Any] = {
        "id": 2001,
        "node_id": "PRRC_kwDOAAABc84AAAAB",
        "url": f"{server}/repos/{REPO}/pulls/comments/2001",
        "pull_request_review_id": 3001,
        "diff_hunk": "@@ -1,3 +1,4 @@",
        "path": "widget.py",
        "body": "@octocat is this line right?",
        "user": user("hubot"),
        "created_at": "2027-01-15T06:45:00Z",
        "updated_at": "2027-01-15T06:45:00Z",
        "html_url": f"https://github.com/{REPO}/pull/57#discussion_r2001",
        "pull_request_url": f"{server}/repos/{REPO}/pulls/57",
    }
    note = notification(server, number=57, kind="PullRequest", latest=review_comment["url"])
    serve_notifications(httpserver, [note])
    serve_json(httpserver, "/repos/acme/widgets/pulls/comments/2001", review_comment)

    (mention,) = call(make_account(httpserver), "mentions", None, HORIZON).items

    assert (mention.remote_id, mention.url, mention.thread_id) == (
        "reviewcomment-2001",
        "https://github.com/acme/widgets/pull/57#discussion_r2001",
        "acme/widgets#57",
    )


def test_team_mention_counts_without_the_users_own_name(httpserver: HTTPServer, call: Call) -> None:
    server = httpserver.url_for("").rstrip("/")
    comment = issue_comment(server, 1010, "@acme/maintainers need a decision here")
    serve_notifications(httpserver, [notification(server, reason="team_mention",
                                                  latest=comment["url"])])  # fmt: skip
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1010", comment)

    batch = call(make_account(httpserver), "mentions", None, HORIZON)

    assert [m.remote_id for m in batch.items] == ["issuecomment-1010"]


def test_the_users_own_comment_naming_themselves_is_not_a_mention(
    httpserver: HTTPServer, call: Call
) -> None:
    server = httpserver.url_for("").rstrip("/")
    own = issue_comment(server, 1020, "note to self @octocat: retest", login="octocat")
    serve_notifications(httpserver, [notification(server, latest=own["url"])])
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1020", own)
    serve_json(httpserver, "/repos/acme/widgets/issues/42/comments", [own])
    serve_json(httpserver, "/repos/acme/widgets/issues/42", issue(server, 5001, 42, "no ping"))

    assert call(make_account(httpserver), "mentions", None, HORIZON).items == []


def test_text_is_normalised_for_display(httpserver: HTTPServer, call: Call) -> None:
    server = httpserver.url_for("").rstrip("/")
    body = (
        "<!-- Please fill in the template -->\r\n@octocat Tom &amp; Jerry \x1b[31mbroke\x1b[0m"
        "\r\nthe `<Widget>` &lt;3"
    )
    comment = issue_comment(server, 1030, body)
    serve_notifications(httpserver, [notification(server, latest=comment["url"])])
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1030", comment)

    (mention,) = call(make_account(httpserver), "mentions", None, HORIZON).items

    assert mention.text == "@octocat Tom & Jerry broke\nthe `<Widget>` <3"
    assert mention.url.startswith("https://github.com/")


def test_notifications_are_paged_by_the_link_header(httpserver: HTTPServer, call: Call) -> None:
    server = httpserver.url_for("").rstrip("/")
    first = issue_comment(server, 1101, "@octocat one", created="2027-01-15T07:50:00Z")
    second = issue_comment(server, 1102, "@octocat two", number=43, created="2027-01-15T06:00:00Z")
    page1 = [notification(server, thread="11", latest=first["url"], updated="2027-01-15T07:50:00Z")]
    page2 = [notification(server, thread="12", number=43, latest=second["url"],
                          updated="2027-01-15T06:00:00Z")]  # fmt: skip
    serve_notifications(httpserver, page1, page2)
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1101", first)
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1102", second)

    batch = call(make_account(httpserver), "mentions", None, HORIZON)

    assert [m.remote_id for m in batch.items] == ["issuecomment-1101", "issuecomment-1102"]
    assert [m.thread_id for m in batch.items] == ["acme/widgets#42", "acme/widgets#43"]
    pages = requests_to(httpserver, "/notifications")
    assert [r.args.get("page") for r in pages] == [None, "2"]


def test_second_poll_asks_only_for_newer_notifications_and_a_304_costs_nothing(
    httpserver: HTTPServer, call: Call, clock: FakeClock
) -> None:
    server = httpserver.url_for("").rstrip("/")
    comment = issue_comment(server, 1001, "@octocat hi")
    serve_notifications(httpserver, [notification(server, latest=comment["url"])])
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1001", comment)
    account = make_account(httpserver)
    first = call(account, "mentions", None, HORIZON)
    httpserver.clear()
    httpserver.expect_request("/notifications").respond_with_data(
        "", status=304, headers={"X-Poll-Interval": "60"}
    )
    clock.now += 120

    second = call(account, "mentions", first.cursor, datetime(1970, 1, 1, tzinfo=UTC))

    assert second.items == []
    (request,) = httpserver.log
    assert request[0].args["since"] == "2027-01-15T07:00:00Z"
    assert request[0].headers["If-Modified-Since"] == "Fri, 15 Jan 2027 07:00:00 GMT"
    assert "If-None-Match" not in request[0].headers  # it would outrank If-Modified-Since
    assert listing_state(second.cursor, "notifications")["floor"] == "2027-01-15T07:00:00Z"
    assert listing_state(second.cursor, "notifications")["extra"]["next_poll"] == clock.now + 60


def test_polling_again_before_x_poll_interval_makes_no_request(
    httpserver: HTTPServer, call: Call, clock: FakeClock
) -> None:
    server = httpserver.url_for("").rstrip("/")
    serve_notifications(httpserver, [notification(server, reason="subscribed")])
    account = make_account(httpserver)
    first = call(account, "mentions", None, HORIZON)
    clock.now += 30

    early = call(account, "mentions", first.cursor, HORIZON)
    assert (early.items, early.cursor) == ([], first.cursor)
    assert len(httpserver.log) == 1

    clock.now += 31
    call(account, "mentions", first.cursor, HORIZON)
    assert len(httpserver.log) == 2


def test_page_cap_then_resume_fills_the_gap_before_moving_on(
    httpserver: HTTPServer, call: Call, clock: FakeClock
) -> None:
    server = httpserver.url_for("").rstrip("/")
    comments = {
        n: issue_comment(server, 1200 + n, f"@octocat #{n}", number=n) for n in (1, 2, 3, 4)
    }
    times = {4: "2027-01-15T07:40:00Z", 3: "2027-01-15T07:30:00Z", 2: "2027-01-15T07:20:00Z"}
    times[1] = "2027-01-15T07:10:00Z"
    note = {
        n: notification(server, thread=str(n), number=n, latest=c["url"], updated=times[n])
        for n, c in comments.items()
    }
    for n, c in comments.items():
        serve_json(httpserver, f"/repos/acme/widgets/issues/comments/{1200 + n}", c)
    serve_notifications(httpserver, [note[4], note[3]], [note[2], note[1]])
    account = make_account(httpserver, max_pages=1)

    first = call(account, "mentions", None, HORIZON)
    clock.now += 120
    second = call(account, "mentions", first.cursor, HORIZON)

    assert [m.remote_id for m in first.items] == ["issuecomment-1204", "issuecomment-1203"]
    assert [m.remote_id for m in second.items] == ["issuecomment-1202", "issuecomment-1201"]
    resumed = requests_to(httpserver, "/notifications")[-1]
    assert resumed.args["page"] == "2"
    assert "If-Modified-Since" not in resumed.headers  # a gap fill must not be answered 304
    # Once the gap is filled, the next poll starts from the newest notification seen.
    httpserver.clear()
    serve_notifications(httpserver, [])
    clock.now += 120
    call(account, "mentions", second.cursor, HORIZON)
    assert requests_to(httpserver, "/notifications")[0].args["since"] == times[4]


def test_keyword_hits_come_from_issue_search_and_resume_from_the_last_update(
    httpserver: HTTPServer, call: Call, clock: FakeClock
) -> None:
    server = httpserver.url_for("").rstrip("/")
    serve_notifications(httpserver, [])
    hit = issue(server, 8001, 77, "Is there a widget for this?", login="newbie",
                created="2027-01-14T10:00:00Z", updated="2027-01-15T06:00:00Z")  # fmt: skip
    serve_json(httpserver, "/search/issues", {"total_count": 1, "incomplete_results": False,
                                              "items": [{**hit, "score": 1.0}]},
               headers={"X-RateLimit-Limit": "30", "X-RateLimit-Resource": "search"})  # fmt: skip
    account = make_account(httpserver, keywords=("widget",))

    first = call(account, "mentions", None, HORIZON)

    (mention,) = first.items
    assert mention.kind is Kind.KEYWORD
    assert (mention.remote_id, mention.author, mention.thread_id) == (
        "issue-8001", "newbie", "acme/widgets#77",
    )  # fmt: skip
    assert mention.created_at == datetime(2027, 1, 14, 10, tzinfo=UTC)
    (search,) = requests_to(httpserver, "/search/issues")
    assert search.args.to_dict() == {
        "q": '"widget" updated:>=2027-01-12T08:00:00Z',
        "sort": "updated",
        "order": "desc",
        "per_page": "50",
    }
    clock.now += 120
    second = call(account, "mentions", first.cursor, datetime(1970, 1, 1, tzinfo=UTC))
    assert second.items == []  # the same issue again is at the floor, not new
    assert requests_to(httpserver, "/search/issues")[-1].args["q"] == (
        '"widget" updated:>=2027-01-15T06:00:00Z'
    )


def test_a_listing_that_found_nothing_looks_back_only_to_each_polls_horizon(
    httpserver: HTTPServer, call: Call, clock: FakeClock
) -> None:
    serve_notifications(httpserver, [])
    empty = {"total_count": 0, "incomplete_results": False, "items": []}
    serve_json(httpserver, "/search/issues", empty)
    account = make_account(httpserver, keywords=("widget",))
    first = call(account, "mentions", None, HORIZON)
    clock.now += 3600

    call(account, "mentions", first.cursor, HORIZON + timedelta(hours=1))

    notifications = requests_to(httpserver, "/notifications")
    times = ["2027-01-12T08:00:00Z", "2027-01-12T09:00:00Z"]
    assert [r.args["since"] for r in notifications] == times
    searches = requests_to(httpserver, "/search/issues")
    assert [r.args["q"] for r in searches] == [f'"widget" updated:>={t}' for t in times]


# ---- replies and answered ----------------------------------------------------------------


def test_own_comments_and_reviews_become_replies_in_their_threads(
    httpserver: HTTPServer, call: Call
) -> None:
    server = httpserver.url_for("").rstrip("/")
    review = {
        "id": 3001,
        "node_id": "PRR_kwDOAAABc84AAAAB",
        "user": user("octocat"),
        "body": "Looks good",
        "state": "approved",
        "html_url": f"https://github.com/{REPO}/pull/57#pullrequestreview-3001",
        "submitted_at": "2027-01-15T07:20:00Z",
    }
    review_comment = {
        "id": 2002,
        "user": user("octocat"),
        "body": "nit",
        "html_url": f"https://github.com/{REPO}/pull/57#discussion_r2002",
        "created_at": "2027-01-15T07:10:00Z",
    }
    events = [
        event(40003, "PullRequestReviewEvent",
              {"action": "created", "review": review, "pull_request": {"number": 57}},
              created="2027-01-15T07:20:01Z"),
        event(40002, "PullRequestReviewCommentEvent",
              {"action": "created", "comment": review_comment, "pull_request": {"number": 57}},
              created="2027-01-15T07:10:01Z"),
        event(40001, "PushEvent", {"push_id": 1, "ref": "refs/heads/main"},
              created="2027-01-15T07:05:00Z"),
        comment_event(server, 40000, 1500, 42, "2027-01-15T07:00:00Z"),
    ]  # fmt: skip
    serve_json(httpserver, "/users/octocat/events", events, headers={"ETag": '"abc123"'})

    batch = call(make_account(httpserver), "replies", None, HORIZON)

    assert [(r.remote_id, r.thread_id, r.parent_id) for r in batch.items] == [
        ("review-3001", "acme/widgets#57", None),
        ("reviewcomment-2002", "acme/widgets#57", None),
        ("issuecomment-1500", "acme/widgets#42", None),
    ]
    assert batch.items[0].created_at == datetime(2027, 1, 15, 7, 20, tzinfo=UTC)
    assert batch.items[2].url == "https://github.com/acme/widgets/issues/42#issuecomment-1500"
    (request,) = requests_to(httpserver, "/users/octocat/events")
    assert request.args["per_page"] == "100"


def test_events_are_resumed_by_etag_and_id(
    httpserver: HTTPServer, call: Call, clock: FakeClock
) -> None:
    server = httpserver.url_for("").rstrip("/")
    # Real event ids are in the tens of billions: they must never be read as times.
    old = comment_event(server, 45_012_340_000, 1500, 42, "2027-01-15T07:00:00Z")
    new = comment_event(server, 45_012_340_010, 1510, 43, "2027-01-15T08:30:00Z")
    account = make_account(httpserver)
    httpserver.expect_oneshot_request("/users/octocat/events").respond_with_response(
        json_response([old], headers={"ETag": '"v1"'})
    )
    httpserver.expect_oneshot_request("/users/octocat/events").respond_with_data(
        "", status=304, headers={"ETag": '"v1"'}
    )
    httpserver.expect_oneshot_request("/users/octocat/events").respond_with_response(
        json_response([new, old], headers={"ETag": '"v2"'})
    )

    first = call(account, "replies", None, HORIZON)
    clock.now += 120
    unchanged = call(account, "replies", first.cursor, HORIZON)
    clock.now += 120
    third = call(account, "replies", unchanged.cursor, HORIZON)

    assert [r.remote_id for r in first.items] == ["issuecomment-1500"]
    assert unchanged.items == []
    assert [r.remote_id for r in third.items] == ["issuecomment-1510"]
    sent = [
        r.headers.get("If-None-Match") for r in requests_to(httpserver, "/users/octocat/events")
    ]
    assert sent == [None, '"v1"', '"v1"']


def test_a_later_comment_in_the_thread_answers_and_another_thread_stays_open(
    httpserver: HTTPServer, call: Call, tmp_path: Path
) -> None:
    server = httpserver.url_for("").rstrip("/")
    asked = issue_comment(server, 1001, "@octocat any news?", created="2027-01-15T06:50:00Z")
    other = issue_comment(server, 1002, "@octocat and this?", number=43,
                          created="2027-01-15T06:55:00Z")  # fmt: skip
    serve_notifications(httpserver, [
        notification(server, thread="1", latest=asked["url"], updated="2027-01-15T06:50:00Z"),
        notification(server, thread="2", number=43, latest=other["url"],
                     updated="2027-01-15T06:55:00Z"),
    ])  # fmt: skip
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1001", asked)
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1002", other)
    answer = comment_event(server, 40000, 1600, 42, "2027-01-15T07:30:00Z")
    serve_json(httpserver, "/users/octocat/events", [answer])
    account = make_account(httpserver)

    mentions: Batch[Mention] = call(account, "mentions", None, HORIZON)
    replies: Batch[Reply] = call(account, "replies", None, HORIZON)

    (reply,) = replies.items
    assert reply.parent_id is None and reply.thread_id == "acme/widgets#42"
    assert [m.thread_id for m in mentions.items] == ["acme/widgets#42", "acme/widgets#43"]
    with Store.open(tmp_path / "mw.sqlite") as store:
        store.save_poll("gh-work", "github", mentions.items, replies.items, {}, NOW)
        states = {m.remote_id: m.state for m in store.mentions(MentionFilter(states=()), NOW)}
    assert states == {"issuecomment-1001": State.ANSWERED, "issuecomment-1002": State.OPEN}


# ---- errors, limits, credentials ---------------------------------------------------------


def test_expired_token_is_a_source_error_that_hides_the_token(
    httpserver: HTTPServer, call: Call
) -> None:
    httpserver.expect_request("/notifications").respond_with_json(
        {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
        status=401,
    )

    with pytest.raises(SourceError) as caught:
        call(make_account(httpserver), "mentions", None, HORIZON)

    assert "refused" in str(caught.value) and "gh-work" in str(caught.value)
    assert "env GITHUB_TOKEN" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert caught.value.endpoint == "/notifications"


def test_primary_rate_limit_beyond_max_wait_says_when_it_resets(
    httpserver: HTTPServer, call: Call, clock: FakeClock
) -> None:
    reset = int(clock.now) + 1800
    httpserver.expect_request("/notifications").respond_with_response(
        json_response(
            {"message": "API rate limit exceeded for user ID 583231.",
             "documentation_url": "https://docs.github.com/rest/overview/rate-limits"},
            status=403,
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
                     "X-RateLimit-Reset": str(reset)},
        )
    )  # fmt: skip

    with pytest.raises(RateLimitedError) as caught:
        call(make_account(httpserver), "mentions", None, HORIZON)

    assert str(caught.value).endswith(f"rate limited until {clock_text(reset)}")
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_with_retry_after_is_waited_out_and_retried(
    httpserver: HTTPServer, call: Call, clock: FakeClock, status: int
) -> None:
    server = httpserver.url_for("").rstrip("/")
    httpserver.expect_oneshot_request("/notifications").respond_with_response(
        json_response(
            {"message": "You have exceeded a secondary rate limit. Please wait a few minutes.",
             "documentation_url": "https://docs.github.com/rest/overview/rate-limits"},
            status=status,
            headers={"Retry-After": "60"},
        )
    )  # fmt: skip
    serve_notifications(httpserver, [notification(server, reason="subscribed")])

    batch = call(make_account(httpserver), "mentions", None, HORIZON)

    assert batch.items == []
    assert clock.sleeps == [60.5]
    assert len(requests_to(httpserver, "/notifications")) == 2


def test_wrong_shaped_notification_names_the_missing_field(
    httpserver: HTTPServer, call: Call
) -> None:
    server = httpserver.url_for("").rstrip("/")
    broken = notification(server)
    del broken["subject"]
    serve_notifications(httpserver, [broken])

    with pytest.raises(SourceError, match="'subject'"):
        call(make_account(httpserver), "mentions", None, HORIZON)


def test_events_that_are_not_a_list_are_a_source_error(httpserver: HTTPServer, call: Call) -> None:
    serve_json(httpserver, "/users/octocat/events", {"message": "Server Error"})

    with pytest.raises(SourceError, match="not a list") as caught:
        call(make_account(httpserver), "replies", None, HORIZON)
    assert caught.value.endpoint == "/users/octocat/events"


def test_urls_off_the_configured_server_are_never_sent_the_token(
    httpserver: HTTPServer, call: Call
) -> None:
    server = httpserver.url_for("").rstrip("/")
    evil = "https://attacker.example/repos/acme/widgets/issues/comments/1"
    serve_notifications(httpserver, [notification(server, latest=evil)])

    with pytest.raises(SourceError, match="refusing to follow") as caught:
        call(make_account(httpserver), "mentions", None, HORIZON)
    assert TOKEN not in str(caught.value)


def test_fine_grained_tokens_are_rejected_before_any_request(
    httpserver: HTTPServer, call: Call
) -> None:
    account = make_account(httpserver, token="github_pat_11ABCDEFG0123456789")

    with pytest.raises(SourceError, match="classic") as caught:
        call(account, "mentions", None, HORIZON)

    assert "github_pat_" not in str(caught.value)
    assert httpserver.log == []


def test_whoami_returns_the_login_and_checks_the_scopes(httpserver: HTTPServer, call: Call) -> None:
    httpserver.expect_oneshot_request("/user").respond_with_response(
        json_response(user("octocat"), headers={"X-OAuth-Scopes": "notifications, read:org"})
    )
    httpserver.expect_oneshot_request("/user").respond_with_response(
        json_response(user("octocat"), headers={"X-OAuth-Scopes": "gist, read:user"})
    )
    account = make_account(httpserver)

    assert call(account, "whoami") == "@octocat@localhost"
    with pytest.raises(SourceError, match="notifications"):
        call(account, "whoami")


def test_github_is_registered_with_its_default_server_and_token_secret() -> None:
    spec = PLATFORMS["github"]
    assert spec.load() is SOURCE
    assert spec.default_server == "https://api.github.com"
    assert spec.secrets == ("token",)


# ---- end to end: source → store → state, and `config check --online` --------------------


def test_a_review_answers_a_pull_request_mention_in_a_real_poll_and_an_issue_mention_stays_open(
    httpserver: HTTPServer, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    server = httpserver.url_for("").rstrip("/")
    on_pull = issue_comment(server, 1001, "@octocat please review", number=57,
                            created="2027-01-15T06:50:00Z")  # fmt: skip
    on_issue = issue_comment(server, 1002, "@octocat and this?", created="2027-01-15T06:55:00Z")
    serve_notifications(httpserver, [
        notification(server, thread="1", number=57, kind="PullRequest", latest=on_pull["url"],
                     updated="2027-01-15T06:50:00Z"),
        notification(server, thread="2", latest=on_issue["url"], updated="2027-01-15T06:55:00Z"),
    ])  # fmt: skip
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1001", on_pull)
    serve_json(httpserver, "/repos/acme/widgets/issues/comments/1002", on_issue)
    review = {"id": 3001, "user": user("octocat"), "body": "LGTM", "state": "approved",
              "html_url": f"https://github.com/{REPO}/pull/57#pullrequestreview-3001",
              "submitted_at": "2027-01-15T07:20:00Z"}  # fmt: skip
    payload = {"action": "created", "review": review, "pull_request": {"number": 57}}
    reviewed = event(40003, "PullRequestReviewEvent", payload, created="2027-01-15T07:20:01Z")
    serve_json(httpserver, "/users/octocat/events", [reviewed])

    result, states = poll_through_store(make_account(httpserver), make_http(), tmp_path / "mw.db")

    assert result.error is None
    assert (result.new_mentions, result.newly_answered, result.still_open) == (2, 1, 1)
    assert states == {"issuecomment-1001": State.ANSWERED, "issuecomment-1002": State.OPEN}


def test_config_check_online_says_who_the_token_belongs_to_with_one_call(
    httpserver: HTTPServer,
) -> None:
    serve_json(httpserver, "/user", user("octocat"), headers={"X-OAuth-Scopes": "notifications"})
    assert check_online(make_account(httpserver)) == (True, "@octocat@localhost")
    assert [r.path for r, _ in httpserver.log] == ["/user"]


def test_config_check_online_with_a_revoked_token_names_the_env_var_not_the_token(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/user").respond_with_json({"message": "Bad credentials"}, 401)
    ok, said = check_online(make_account(httpserver))
    assert not ok and said.startswith("gh-work: /user: ")
    assert "env GITHUB_TOKEN" in said and TOKEN not in said


class FakeGitHubThreads:
    """Issue and review comments that can be read and posted, and the events posting makes.

    Posting follows the docs: POST /repos/{o}/{r}/issues/{n}/comments and
    /pulls/{n}/comments/{id}/replies take {"body"} and answer 201 with the comment.
    """

    def __init__(self, httpserver: HTTPServer) -> None:
        self.server = httpserver
        self.base = httpserver.url_for("").rstrip("/")
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}  # issue comments by number
        self.review_comments: dict[int, list[dict[str, Any]]] = {}  # by pull number
        self.events: list[dict[str, Any]] = []  # the account's, newest first
        self.posted: list[tuple[str, dict[str, Any]]] = []  # (path, body)
        self.failures: list[Response] = []  # answered to the next posts instead
        self.locked: set[int] = set()
        self.scopes = "notifications, public_repo"
        self.hang_after_post = 0.0
        self.next_id = 5000
        httpserver.expect_request(re.compile(r"^/repos/acme/widgets/.*")).respond_with_handler(
            self.handle
        )
        httpserver.expect_request("/users/octocat/events").respond_with_handler(
            lambda r: json_response(self.events)
        )
        httpserver.expect_request("/user").respond_with_handler(
            lambda r: json_response(user("octocat"), headers={"X-OAuth-Scopes": self.scopes})
        )

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return json_response({"message": "Bad credentials"}, 401)
        path = request.path.removeprefix(f"/repos/{REPO}")
        if request.method == "POST":
            return self.post(path, json.loads(request.get_data()))
        if found := re.fullmatch(r"/issues/(\d+)", path):
            number = int(found.group(1))
            if number not in self.issues:
                return json_response({"message": "Not Found"}, 404)
            return json_response(self.issues[number])
        if found := re.fullmatch(r"/issues/(\d+)/comments", path):
            return json_response(self._since(request, self.comments.get(int(found.group(1)), [])))
        if found := re.fullmatch(r"/pulls/(\d+)/comments", path):
            listed = self.review_comments.get(int(found.group(1)), [])
            return json_response(self._since(request, listed))
        if found := re.fullmatch(r"/(issues|pulls)/comments/(\d+)", path):
            for item in self._all():
                if str(item["id"]) == found.group(2):
                    return json_response(item)
        return json_response({"message": "Not Found"}, 404)

    def _since(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        since = request.args.get("since")
        return [i for i in items if since is None or i["updated_at"] >= since]

    def _all(self) -> list[dict[str, Any]]:
        return [c for group in (*self.comments.values(), *self.review_comments.values())
                for c in group]  # fmt: skip

    def review_comment(self, comment_id: int, number: int, body: str, login: str) -> Any:
        item = issue_comment(self.base, comment_id, body, login=login, number=number)
        item["url"] = f"{self.base}/repos/{REPO}/pulls/comments/{comment_id}"
        item["html_url"] = f"https://github.com/{REPO}/pull/{number}#discussion_r{comment_id}"
        item["pull_request_url"] = f"{self.base}/repos/{REPO}/pulls/{number}"
        self.review_comments.setdefault(number, []).append(item)
        return item

    def post(self, path: str, body: dict[str, Any]) -> Response:
        self.posted.append((path, body))
        if self.failures:
            return self.failures.pop(0)
        if not isinstance(body.get("body"), str) or not body["body"]:
            return json_response(
                {
                    "message": "Validation Failed",
                    "errors": [
                        {"resource": "IssueComment", "code": "missing_field", "field": "body"}
                    ],
                },
                422,
            )
        self.next_id += 1
        at = "2027-01-15T08:00:00Z"
        if found := re.fullmatch(r"/issues/(\d+)/comments", path):
            number = int(found.group(1))
            if number not in self.issues:
                return json_response({"message": "Not Found"}, 404)
            if number in self.locked:
                return json_response({"message": "Unable to create comment because issue is "
                                      "locked."}, 403)  # fmt: skip
            item = issue_comment(self.base, self.next_id, body["body"], login="octocat",
                                 number=number, created=at)  # fmt: skip
            self.comments.setdefault(number, []).append(item)
            payload = {"action": "created", "issue": {"number": number}, "comment": item}
            self.events.insert(0, event(self.next_id, "IssueCommentEvent", payload, created=at))
        elif found := re.fullmatch(r"/pulls/(\d+)/comments/(\d+)/replies", path):
            number, parent = int(found.group(1)), int(found.group(2))
            if not any(c["id"] == parent for c in self.review_comments.get(number, [])):
                return json_response({"message": "Not Found"}, 404)
            item = self.review_comment(self.next_id, number, body["body"], "octocat")
            item.update(in_reply_to_id=parent, created_at=at, updated_at=at)
            payload = {"action": "created", "pull_request": {"number": number}, "comment": item}
            kind = "PullRequestReviewCommentEvent"
            self.events.insert(0, event(self.next_id, kind, payload, created=at))
        else:
            return json_response({"message": "Not Found"}, 404)
        if self.hang_after_post:
            wait, self.hang_after_post = self.hang_after_post, 0.0
            time.sleep(wait)
        return json_response(item, 201)


def test_keyword_expressions_are_quoted_issue_searches_and_hits_checked_against_all_of_them(
    httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    from tests.searched import fetched_mentions

    server = httpserver.url_for("").rstrip("/")
    serve_notifications(httpserver, [])
    hits = [
        issue(server, 8001, 77, "Is there a widget for this?", login="newbie",
              created="2027-01-14T10:00:00Z", updated="2027-01-15T06:00:00Z"),
        issue(server, 8002, 78, "widget: wont fix", login="newbie",
              created="2027-01-14T09:00:00Z", updated="2027-01-15T05:00:00Z"),
        issue(server, 8003, 79, "Another widget", login="someone",
              created="2027-01-14T08:00:00Z", updated="2027-01-15T04:00:00Z"),
    ]  # fmt: skip
    # The canned answer ignores the query: a looser search than the expression.
    serve_json(httpserver, "/search/issues", {"total_count": 3, "incomplete_results": False,
                                              "items": hits})  # fmt: skip
    account = make_account(httpserver, keywords=('widget -"wont fix" author:newbie',))
    kept = fetched_mentions(make_http, account, lambda: NOW, replies_may_fail=True)
    assert [m.remote_id for m in kept] == ["issue-8001"]
    (search,) = requests_to(httpserver, "/search/issues")
    assert search.args["q"].startswith('"widget" author:newbie updated:>=')
