"""Mention text is hostile: every path by which stored or fetched text reaches a user.

Each test stores (or fetches from a fake platform) text full of Rich markup, ANSI/CSI/OSC
escapes, C0/C1 controls, bidi overrides, HTML and spreadsheet formulas, then runs the real
command and checks what comes out is inert for its medium.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from email import message_from_string, policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from pytest_httpserver import HTTPServer
from rich.console import Console
from rich.text import Text
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.fetched import Mention, Reply
from mentionwatch.store import Store
from mentionwatch.text import csv_cell, html_text, markdown_text, one_line, strip_controls
from mentionwatch.timeutil import utcnow
from tests.history import database

runner = CliRunner()

# Everything a terminal could act on: C0 but newline, DEL, C1, bidi overrides and isolates.
UNSAFE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
ESCAPES = (
    "\x1b[2J\x1b[31m"  # CSI: clear screen, red
    "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07"  # OSC 8 hyperlink
    "\x1b]0;pwned title\x1b\\"  # OSC window title, ST-terminated
    "\x9b31m\x9d0;c1 title\x9c"  # 8-bit C1 CSI / OSC / ST
    "\x07\x08\x00\x7f"  # bell, backspace, NUL, DEL
)
BIDI = "\u202eevil\u202c \u2066iso\u2069 \u202a\u202b\u202d"
MARKUP = "[bold red]FAKE ALERT[/bold red] [link=http://evil.example]x[/link] :skull:"
HTML = "<script>alert(1)</script><img src=http://evil.example/p.png> & \"q\" 'a'"
HOSTILE = f"{MARKUP} {ESCAPES} {BIDI} {HTML}\nsecond line\r=1+1"
ACCOUNT = "brand"


def clean(output: str) -> None:
    """No byte a terminal would interpret; and the Rich markup shows literally."""
    assert not UNSAFE.findall(output), sorted(set(UNSAFE.findall(output)))


def evil(rid: str, **fields: Any) -> Mention:
    values: dict[str, Any] = {
        "remote_id": rid,
        "url": "https://example.com/p/1\x1b[2J\u202e",
        "author": f'=HYPERLINK("http://evil") {ESCAPES}{BIDI}',
        "text": HOSTILE,
        "created_at": utcnow() - timedelta(hours=3),
        "title": f"+title {MARKUP}{ESCAPES}",
    }
    values.update(fields)
    return Mention(**values)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config with one (offline) account; its database holds a hostile open mention (id 1)
    and a hostile mention answered by a hostile reply (id 2)."""
    db = database(tmp_path / "mw.db")
    path = tmp_path / "config.toml"
    path.write_text(
        f'[settings]\ndatabase = "{db}"\nsla = "1h"\n\n'
        f'[[accounts]]\nname = "{ACCOUNT}"\nplatform = "feed"\nurl = "{tmp_path}/none.atom"\n\n'
        '[digest]\nto = ["team@example.com"]\nfrom = "mw@example.com"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    answer = Reply(
        "r1",
        f"https://example.com/r\x1b]8;;http://evil\x07{BIDI}",
        f"brand{ESCAPES}{MARKUP}",
        utcnow() - timedelta(hours=1),
        parent_id="answered",
    )
    with Store.open(db) as store:
        store.save_poll(ACCOUNT, "feed", [evil("open"), evil("answered")], [answer], {}, utcnow())
    return path


def mw(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


# -- the terminal -------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("list",), ("list", "--all"), ("show", "1"), ("show", "2")])
def test_list_and_show_print_hostile_text_literally_and_inert(
    config: Path, args: tuple[str, ...]
) -> None:
    code, out, err = mw(config, *args)
    assert code == 0, err
    clean(out + err)
    assert "[bold red]FAKE ALERT" in out  # markup shown, not rendered
    assert ":skull:" in out  # no emoji codes replaced either
    assert "evil" in out  # the text itself stays readable


@pytest.mark.parametrize("flag", ["--json", "--jsonl"])
def test_list_json_carries_no_control_or_bidi_character_in_any_field(
    config: Path, flag: str
) -> None:
    code, out, err = mw(config, "list", "--all", flag)
    assert code == 0, err
    clean(out)
    assert "\\u001b" not in out and "\\u0007" not in out  # not even JSON-escaped
    rows = json.loads(out) if flag == "--json" else [json.loads(x) for x in out.splitlines()]
    answered = [r for r in rows if r["state"] == "answered"]
    assert answered and answered[0]["answered_url"].startswith("https://example.com/r")
    assert "[bold red]FAKE ALERT" in answered[0]["answered_by"]


def test_open_launches_only_clean_http_urls(
    config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import webbrowser

    opened: list[str] = []

    def fake_open(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    assert mw(config, "open", "1")[0] == 0
    assert opened == ["https://example.com/p/1"]
    db = database(tmp_path / "mw.db")
    with Store.open(db) as store:
        store.save_poll(ACCOUNT, "feed", [
            evil("js", url="\x01 JavaScript:alert(1)"),
            evil("data", url="data:text/html,<script>alert(1)</script>"),
            evil("file", url="file:///etc/passwd"),
            evil("bidi", url="\u202ehttps://example.com/x"),
        ], [], {}, utcnow())  # fmt: skip
    for mention_id in (3, 4, 5):
        code, out, err = mw(config, "open", str(mention_id))
        assert code == 2 and "has no web link" in err
    assert mw(config, "open", "6")[0] == 0
    assert opened[1:] == ["https://example.com/x"]


def test_open_prints_a_clean_url_when_no_browser_starts(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webbrowser

    monkeypatch.setattr(webbrowser, "open", lambda url: False)
    code, out, err = mw(config, "open", "1")
    assert code == 0 and out.strip() == "https://example.com/p/1"
    clean(out)


def test_stats_and_check_show_the_oldest_waiting_mention_inert(tmp_path: Path) -> None:
    """The oldest-waiting cell names an account: one stored from an old config may be odd."""
    db = database(tmp_path / "mw.db")
    path = tmp_path / "config.toml"
    path.write_text(f'[settings]\ndatabase = "{db}"\n', encoding="utf-8")
    odd = f"old[bold]acct{ESCAPES}"
    with Store.open(db) as store:
        store.save_poll(odd, "mastodon", [evil("x", created_at=utcnow() - timedelta(days=1))],
                        [], {}, utcnow())  # fmt: skip
    for args in (("stats",), ("stats", "--by", "account"), ("check",)):
        code, out, err = mw(path, *args)
        assert code in (0, 1), err
        clean(out + err)
        assert "old[bold]acct" in out
    code, out, _ = mw(path, "check")
    assert code == 1 and len(out.strip().splitlines()) == 1
    for json_args in (("stats", "--json"), ("check", "--json")):
        code, out, _ = mw(path, *json_args)
        clean(out)
        json.loads(out)


# -- files: CSV, JSON, Markdown, HTML ------------------------------------------------------


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(
    "start", ["=", "+", "-", "@", "\t", "\r", "\r\n=", "\x00=", "\x1b[0m=", "\u202e=", "\u200b@"]
)
def test_csv_export_neutralises_every_text_cell_that_could_be_a_formula(
    config: Path, tmp_path: Path, start: str
) -> None:
    formula = f'{start}cmd|" /C calc"!A0'
    with Store.open(database(tmp_path / "mw.db")) as store:
        store.save_poll(ACCOUNT, "feed", [
            evil("f", author=formula, title=formula, text=formula, url=formula),
        ], [], {}, utcnow())  # fmt: skip
    target = tmp_path / "out.csv"
    code, _, err = mw(config, "export", "--all", "--format", "csv", "--output", str(target))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"), newline="")))
    assert len(rows) == 3
    for row in rows:
        for name in ("account", "author", "title", "text", "url", "answered_url", "answered_by"):
            assert not row[name].startswith(FORMULA_STARTS), (name, row[name])
            clean(row[name].replace("\n", " ").replace("\t", " "))
    (last,) = [r for r in rows if r["author"].endswith('calc"!A0')]
    assert last["author"] == csv_cell(formula)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_exports_carry_no_control_or_bidi_characters(
    config: Path, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"out.{fmt}"
    code, _, err = mw(config, "export", "--all", "--format", fmt, "--output", str(target))
    assert code == 0, err
    text = target.read_text(encoding="utf-8")
    clean(text)
    assert "\\u001b" not in text and "[bold red]FAKE ALERT" in text


class _Tags(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert_html(markup: str) -> _Tags:
    page = _Tags(markup)
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "img", "iframe", "object", "embed", "link", "form", "svg"}
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src"):
            if name in attrs:
                assert str(attrs[name]).startswith(("https://", "http://")), (tag, attrs)
    clean("".join(page.text).replace("\t", " "))
    return page


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_report_exports_render_hostile_text_inert(config: Path, fmt: str) -> None:
    with Store.open(database(config.parent / "mw.db")) as store:
        store.save_poll(ACCOUNT, "feed", [
            evil("link", text="[x](javascript:alert(1)) <a href=javascript:alert(2)>y</a>",
                 url='https://example.com/"><script>alert(3)</script>'),
        ], [], {}, utcnow())  # fmt: skip
    code, out, err = mw(config, "export", "--all", "--format", fmt)
    assert code == 0, err
    clean(out.replace("\t", " "))
    rendered = out if fmt == "html" else MarkdownIt("commonmark").enable("table").render(out)
    page = assert_inert_html(rendered)
    assert "[bold red]FAKE ALERT" in "".join(page.text)
    assert "<script>alert(1)</script>" in "".join(page.text)  # shown, as text


# -- poll and config check against fake platforms ------------------------------------------


def test_polled_hostile_feed_entries_come_out_inert(tmp_path: Path, httpserver: HTTPServer) -> None:
    title = f"{MARKUP}{ESCAPES}{BIDI}".replace("\x00", "")
    atom = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id>
<updated>{utcnow():%Y-%m-%dT%H:%M:%SZ}</updated>
<entry><title>{html_text(title)}</title><id>urn:e1</id>
<link href="javascript:alert(1)"/><updated>{utcnow():%Y-%m-%dT%H:%M:%SZ}</updated>
<author><name>=cmd{html_text(ESCAPES.replace(chr(0), ""))}</name></author>
<content type="html">{html_text(HTML + BIDI)}</content></entry></feed>"""
    httpserver.expect_request("/f.atom").respond_with_data(
        atom, content_type="application/atom+xml"
    )
    path = tmp_path / "config.toml"
    path.write_text(
        f'[settings]\ndatabase = "{database(tmp_path / "mw.db")}"\n\n'
        '[[accounts]]\nname = "alerts"\n'
        f'platform = "feed"\nurl = "{httpserver.url_for("/f.atom")}"\n',
        encoding="utf-8",
    )
    code, out, err = mw(path, "poll")
    assert code == 0, out + err
    clean(out + err)
    for args in (("list",), ("show", "1"), ("list", "--json")):
        code, out, err = mw(path, *args)
        assert code == 0, err
        clean(out + err)
        assert "[bold red]FAKE ALERT" in out
    code, _, err = mw(path, "open", "1")
    assert code == 2 and "no web link" in err


def test_poll_error_lines_quote_server_text_inert(tmp_path: Path, httpserver: HTTPServer) -> None:
    """A server's error body is quoted in the account's FAILED line: one clean line."""
    body = json.dumps({"error": f"{MARKUP} {ESCAPES}{BIDI}\nsecond line"})
    httpserver.expect_request("/api/v1/accounts/verify_credentials").respond_with_data(
        body, status=422, content_type="application/json"
    )
    httpserver.expect_request("/2/users/by/username/brand").respond_with_json(
        {"title": f"Bad{ESCAPES}", "detail": f"{MARKUP}{BIDI}\nline", "type": "x"}, status=400
    )
    path = tmp_path / "config.toml"
    path.write_text(
        f'[settings]\ndatabase = "{database(tmp_path / "mw.db")}"\nretries = 0\n\n'
        f'[[accounts]]\nname = "masto"\nplatform = "mastodon"\nserver = "{httpserver.url_for("")}"'
        '\nhandle = "brand"\ntoken = "env:MW_TEST_TOKEN"\n\n'
        f'[[accounts]]\nname = "x"\nplatform = "twitter"\nserver = "{httpserver.url_for("")}"'
        '\nhandle = "brand"\ntoken = "env:MW_TEST_TOKEN"\n',
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["--config", str(path), "poll"], env={"MW_TEST_TOKEN": "t0ken-value-123"}
    )
    assert result.exit_code == 4, result.output
    clean(result.stdout + result.stderr)
    failed = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert len(failed) == 2 and all("[bold red]FAKE ALERT" in line for line in failed)


def test_config_check_online_shows_a_hostile_display_name_inert(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    acct = f"evil{MARKUP}{ESCAPES}{BIDI}"
    httpserver.expect_request("/api/v1/accounts/verify_credentials").respond_with_json(
        {"id": "1", "username": acct, "acct": acct, "display_name": acct}
    )
    path = tmp_path / "config.toml"
    path.write_text(
        f'[[accounts]]\nname = "masto"\nplatform = "mastodon"\nserver = "{httpserver.url_for("")}"'
        '\nhandle = "brand"\ntoken = "env:MW_TEST_TOKEN"\n',
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["--config", str(path), "config", "check", "--online"], env={"MW_TEST_TOKEN": "t"}
    )
    assert result.exit_code == 0, result.output
    clean(result.stdout + result.stderr)
    assert "[bold" in result.stdout and "FAKE" in result.stdout


# -- the digest -----------------------------------------------------------------------------


def test_digest_plain_text_on_stdout_is_inert(config: Path) -> None:
    code, out, err = mw(config, "digest")
    assert code == 0, err
    clean(out + err)
    assert "[bold red]FAKE ALERT" in out


def test_digest_message_headers_stay_single_and_the_html_part_inert(config: Path) -> None:
    code, out, err = mw(config, "digest", "--dry-run", "--sendmail")
    assert code == 0, err
    clean(out + err)
    headers = out.split("\n\n", 1)[0].splitlines()
    assert [h.split(":")[0] for h in headers] == ["From", "To", "Subject", "Date", "Message-ID"]

    from mentionwatch.config import load
    from mentionwatch.digest.model import collect
    from mentionwatch.digest.render import compose
    from mentionwatch.digest.settings import digest_settings

    loaded = load(config)
    settings = digest_settings(loaded)
    with Store.open(database(config.parent / "mw.db")) as store:
        store.save_poll(ACCOUNT, "feed", [evil("js", url="javascript:alert(1)")], [], {},
                        utcnow())  # fmt: skip
        digest = collect(store, loaded, settings, utcnow(), None)
    message = compose(digest, settings, ["team@example.com"])
    wire = message.as_string()
    parsed = message_from_string(wire, policy=policy.default)
    assert "FAKE" not in str(parsed["Subject"]) and "\n" not in str(parsed["Subject"])
    assert set(parsed.keys()) == {"Subject", "From", "To", "Date", "Message-ID",
                                  "Auto-Submitted", "MIME-Version", "Content-Type"}  # fmt: skip
    html_part = parsed.get_body(("html",))
    assert html_part is not None
    page = assert_inert_html(str(html_part.get_content()))
    links = [str(a.get("href")) for tag, a in page.tags if tag == "a"]
    assert links and all(link.startswith("https://example.com/") for link in links)
    plain = parsed.get_body(("plain",))
    assert plain is not None
    clean(str(plain.get_content()))


# -- the escapers, over arbitrary text ----------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_terminal_escaping_leaves_nothing_a_terminal_would_act_on(text: str) -> None:
    line = one_line(text)
    assert not UNSAFE.search(line) and "\n" not in line
    assert not UNSAFE.search(strip_controls(text).replace("\n", "").replace("\t", ""))
    console = Console(file=io.StringIO(), width=80, color_system=None, legacy_windows=False)
    console.print(Text(line))
    assert "\x1b" not in console.file.getvalue()  # type: ignore[attr-defined]


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_csv_cells_never_start_a_formula(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.startswith(FORMULA_STARTS)
    assert cell.startswith("'") or not cell.lstrip().startswith(FORMULA_STARTS)
    assert not UNSAFE.search(cell.replace("\t", ""))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_html_and_markdown_escaping_leave_no_markup(text: str) -> None:
    escaped = html_text(text)
    assert not set("<>\"'") & set(escaped) and not UNSAFE.search(escaped.replace("\t", ""))
    rendered = MarkdownIt("commonmark").enable("table").render(markdown_text(text))
    assert "<a " not in rendered and "<img" not in rendered and "<script" not in rendered


def test_log_lines_quoting_a_server_carry_no_escape_sequence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging

    from mentionwatch.cli.poll import log_to_stderr

    log_to_stderr(True)
    try:
        logging.getLogger("mentionwatch.test").warning(
            "server said: \x1b[2J\x1b]0;owned\x07gone\u202eevil\nsecond line"
        )
    finally:
        log_to_stderr(False)
    logged = capsys.readouterr().err
    assert "server said: gone" in logged and "evil\nsecond line" in logged
    assert not any(c in logged for c in ("\x1b", "\x07", "\u202e"))


def test_strip_controls_removes_exactly_the_control_and_bidi_code_points() -> None:
    # Every code point, each on its own so no escape sequence forms across neighbours.
    removed = {c for c in map(chr, range(0x110000)) if c != "\x1b" and strip_controls(c) == ""}
    wanted = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
    assert removed == {c for c in map(chr, range(0x110000)) if wanted.fullmatch(c)} - {"\x1b"}
    assert strip_controls("a\tb\nc") == "a\tb\nc"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_html_text_escapes_exactly_like_the_standard_library(text: str) -> None:
    import html

    assert html_text(text) == html.escape(strip_controls(text), quote=True)
