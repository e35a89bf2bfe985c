"""Raw payloads are opt-in (`keep_raw`): kept as the platform sent them, shown by `show --raw`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.history import mw_split


def _with_keep_raw(example: Path, line: str) -> Path:
    text = example.read_text(encoding="utf-8")
    example.write_text(text.replace("[settings]\n", f"[settings]\n{line}\n", 1), encoding="utf-8")
    return example


def _stored_raw(example: Path) -> list[str]:
    with sqlite3.connect(example.parent / "example.db") as db:
        return [row[0] for row in db.execute("SELECT raw FROM mentions ORDER BY id")]


def test_payloads_are_not_kept_by_default_and_show_raw_says_how_to_keep_them(
    example: Path,
) -> None:
    code, _, err = mw_split(example, "poll")
    assert code == 0, err
    raws = _stored_raw(example)
    assert raws and set(raws) == {""}
    code, out, err = mw_split(example, "show", "1", "--raw")
    assert code == 2
    assert "mention 1 has no stored payload" in err and "keep_raw = true" in err


def test_keep_raw_stores_each_payload_and_show_raw_prints_it_escaped(example: Path) -> None:
    code, _, err = mw_split(_with_keep_raw(example, "keep_raw = true"), "poll")
    assert code == 0, err
    raws = _stored_raw(example)
    assert raws and all(json.loads(r)["link"] for r in raws)
    code, out, err = mw_split(example, "show", "1", "--raw")
    assert code == 0, err
    assert json.loads(out) == json.loads(raws[0])
    assert out.isascii()  # control and bidi characters in a payload never reach the terminal


def test_keep_raw_must_be_a_boolean(example: Path) -> None:
    code, _, err = mw_split(_with_keep_raw(example, 'keep_raw = "yes"'), "list")
    assert code == 3
    assert "key 'keep_raw'" in err
