"""Request slots go to earlier accounts first (slots.py), so accounts finish one after another."""

from __future__ import annotations

import asyncio
import threading

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mentionwatch.http import Http
from mentionwatch.models import Account
from mentionwatch.slots import Gate
from tests.conftest import run


def test_waiters_get_in_by_priority_then_by_arrival() -> None:
    async def go() -> list[str]:
        gate = Gate(1)
        await gate.acquire(0)
        order: list[str] = []

        async def wait(name: str, priority: int) -> None:
            await gate.acquire(priority)
            order.append(name)
            gate.release()

        tasks = [asyncio.create_task(wait(n, p)) for n, p in (("c", 5), ("a", 1), ("b", 1))]
        await asyncio.sleep(0)  # all three are waiting now
        gate.release()
        await asyncio.gather(*tasks)
        return order

    assert run(go()) == ["a", "b", "c"]


def test_a_cancelled_waiter_takes_no_place_and_loses_none() -> None:
    async def go() -> tuple[bool, bool]:
        gate = Gate(1)
        await gate.acquire(0)
        gone = asyncio.create_task(gate.acquire(1))
        later = asyncio.create_task(gate.acquire(2))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        gate.release()  # skips the cancelled waiter
        await asyncio.wait_for(later, 1)
        # Given the place, then cancelled before it ran: the place is passed on, not lost.
        given = asyncio.create_task(gate.acquire(3))
        last = asyncio.create_task(gate.acquire(4))
        await asyncio.sleep(0)
        gate.release()  # to `given`, which has not run yet
        given.cancel()
        await asyncio.wait_for(last, 1)
        gate.release()
        free_again = asyncio.create_task(gate.acquire(5))
        await asyncio.sleep(0)
        return given.cancelled(), free_again.done()

    assert run(go()) == (True, True)


def _account(name: str) -> Account:
    return Account(name=name, platform="mastodon", server="http://unused")


def test_an_earlier_accounts_next_request_goes_before_a_later_accounts_first(
    httpserver: HTTPServer,
) -> None:
    """One slot, three accounts of two requests each: first come, first served would serve
    a1 a2 a3 a1 a2 a3 (every account finishing at the end); here a1 is done third, a2 fourth.

    (A slot freed by an account goes to a waiter already queued: a1's second request waits
    for a2's first, and then goes before a3's first.)"""
    seen = _served(httpserver, ["a1", "a2", "a3"], places=1)
    assert seen == ["a1", "a2", "a1", "a2", "a3", "a3"]


def _served(httpserver: HTTPServer, names: list[str], places: int) -> list[str]:
    """Each account sends two requests one after the other, with `places` in flight at most
    (in all and per host); the accounts, in the order the server saw their requests."""
    seen: list[str] = []
    lock = threading.Lock()

    def handler(request: Request) -> Response:
        with lock:
            seen.append(request.path.strip("/"))
        return Response("{}", content_type="application/json")

    for name in names:
        httpserver.expect_request(f"/{name}").respond_with_handler(handler)

    async def go() -> None:
        async with Http(concurrency=places, per_host=places) as http:

            async def account(name: str) -> None:
                fetcher = http.for_account(_account(name))
                for _ in range(2):
                    await fetcher.get(httpserver.url_for(f"/{name}"))

            await asyncio.gather(*(account(n) for n in names))

    run(go())
    return seen


def test_a_hosts_first_accounts_all_start_before_any_goes_on(httpserver: HTTPServer) -> None:
    """Two places, six accounts of two requests each. The first four (2 x per_host) start
    before any account's second request: an account starting last would end the poll late.
    The fifth and sixth start in account order, after the earlier accounts' requests."""
    seen = _served(httpserver, [f"a{i}" for i in range(1, 7)], places=2)
    assert sorted(seen[:4]) == ["a1", "a2", "a3", "a4"]
    assert sorted(seen[4:8]) == ["a1", "a2", "a3", "a4"]
    assert sorted(seen[8:]) == ["a5", "a5", "a6", "a6"]


def test_a_request_waiting_for_its_busy_host_holds_none_of_the_polls_places() -> None:
    """Two places in all, one a host. a1 and a2 share a slow host, b1 has its own: while a2
    waits for a1 to finish on their host, b1 must get the second place and be done at once."""
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)  # a1 waits, b1 goes on
    httpserver.start()
    finished: list[str] = []
    b1_done = threading.Event()

    def slow(request: Request) -> Response:
        b1_done.wait(2)  # until b1 is done (or 2 s, when b1 is stuck behind a2)
        return Response("{}", content_type="application/json")

    def fast(request: Request) -> Response:
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/a").respond_with_handler(slow)
    httpserver.expect_request("/b").respond_with_handler(fast)
    # One server, two hosts: each name has a limit of its own.
    one_host = httpserver.url_for("/a")
    other_host = httpserver.url_for("/b").replace("127.0.0.1", "localhost")

    async def go() -> None:
        async with Http(concurrency=2, per_host=1, retries=0) as http:

            async def account(name: str, url: str) -> None:
                await http.for_account(_account(name)).get(url)
                finished.append(name)
                if name == "b1":
                    b1_done.set()

            await asyncio.gather(
                account("a1", one_host), account("a2", one_host), account("b1", other_host)
            )

    try:
        run(go())
    finally:
        httpserver.stop()
    assert finished[0] == "b1"  # before a1: it did not wait for a place a2 held
