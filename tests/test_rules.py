"""Inbox rules end to end: config errors, what storing records, order, filters, re-apply.

Tests that store run on a SQLite file and on PostgreSQL (conftest's BOTH_BACKENDS)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from mentionwatch.config import load
from mentionwatch.errors import ConfigError
from mentionwatch.models import State
from mentionwatch.store import MentionFilter, SaveResult, Store
from tests.history import NOW, at, build, freeze, mention, mw, mw_split

RULES = """
[[rules]]
name = "slowish"
match = "slow OR broken"
priority = "low"
sla = "2h"
tags = ["perf"]

[[rules]]
name = "complaints"
match = '(refund OR broken OR cancel OR "worst" OR scam) -"not broken"'
priority = "high"
sla = "30m"
tags = ["complaint"]

[[rules]]
name = "spam"
match = 'has:link (giveaway OR "free crypto")'
dismiss = "spam"
tags = ["spam"]

[[rules]]
name = "also-spam"
match = "giveaway"
dismiss = "promo"
"""


def store_with_rules(
    config: Path, account: str, platform: str, *items: tuple[str, str]
) -> SaveResult:
    """Store mentions (remote id, text) the way a poll does: the config's rules decide."""
    loaded = load(config)
    with Store.open(loaded.settings.database or Path()) as store:
        found = [mention(rid, at(20, 14, n), text) for n, (rid, text) in enumerate(items)]
        return store.save_poll(account, platform, found, [], {}, NOW, loaded.ruleset.outcomes)


def stored(config: Path) -> dict[str, dict[str, object]]:
    code, out, err = mw_split(config, "list", "--all", "--jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    return {str(r["url"]).rsplit("/", 1)[1]: r for r in rows}


@pytest.fixture
def ruled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    freeze(monkeypatch, NOW)
    config, _ = build(tmp_path, RULES)
    return config


def test_highest_priority_and_shortest_sla_win_and_tags_add_up(ruled: Path) -> None:
    store_with_rules(ruled, "brand", "mastodon", ("r1", "the export is broken and slow"),
                     ("r2", "the export is slow"), ("r3", "lovely"))  # fmt: skip
    rows = stored(ruled)
    assert (rows["r1"]["priority"], rows["r1"]["sla_seconds"]) == ("high", 1800)
    assert rows["r1"]["tags"] == ["perf", "complaint"]
    assert (rows["r2"]["priority"], rows["r2"]["sla_seconds"], rows["r2"]["tags"]) == (
        "low", 7200, ["perf"],
    )  # fmt: skip
    assert (rows["r3"]["priority"], rows["r3"]["sla_seconds"], rows["r3"]["tags"]) == (
        "normal", 3600, [],
    )  # fmt: skip


def test_dismiss_wins_and_records_the_first_dismissing_rule(ruled: Path) -> None:
    saved = store_with_rules(ruled, "brand", "mastodon",
                             ("d1", "broken? giveaway at https://x.example/win"),
                             ("d2", "a giveaway, no link"))  # fmt: skip
    assert (saved.new_mentions, saved.dismissed) == (2, 2)
    rows = stored(ruled)
    assert rows["d1"]["state"] == "dismissed"
    assert (rows["d1"]["dismissed_rule"], rows["d1"]["dismissed_reason"]) == ("spam", "spam")
    assert rows["d1"]["tags"] == ["perf", "complaint", "spam"]
    assert (rows["d2"]["dismissed_rule"], rows["d2"]["dismissed_reason"]) == ("also-spam", "promo")


def test_a_mention_dismissed_on_arrival_is_never_open(ruled: Path) -> None:
    saved = store_with_rules(ruled, "brand", "mastodon", ("d1", "giveaway https://x.example"))
    assert saved.still_open == 2  # m6 and m7 of the history; the spam is not counted
    with Store.open(load(ruled).settings.database or Path()) as store:
        waiting = store.mentions(MentionFilter(states=(State.OPEN, State.SNOOZED)), NOW)
        assert "d1" not in {m.remote_id for m in waiting}
        row = store.db.execute(
            "SELECT state, state_changed_at, first_seen_at FROM mentions WHERE remote_id = 'd1'"
        ).fetchone()
    # Stored dismissed in the insert itself: it has no moment of being open for an alert to see.
    assert (row[0], row[1]) == ("dismissed", row[2])
    code, out = mw(ruled, "list")
    assert "giveaway" not in out
    code, out = mw(ruled, "list", "--state", "dismissed", "--tag", "spam")
    assert code == 0 and "giveaway" in out and "dismissed: spam" in out
    ids = stored(ruled)
    code, out = mw(ruled, "show", str(ids["d1"]["id"]))
    assert "Dismissed  spam (rule 'spam')" in out


def test_list_orders_by_priority_then_age_and_filters_by_priority_and_tag(ruled: Path) -> None:
    store_with_rules(ruled, "brand", "mastodon", ("h1", "refund please"), ("l1", "slow"))
    code, out, err = mw_split(ruled, "list", "--jsonl")
    order = [json.loads(line)["url"].rsplit("/", 1)[1] for line in out.splitlines()]
    # high first; then normal oldest first (m7 13:00 before m6 14:10 ... c2 14:45); low last
    assert order[0] == "h1" and order[-1] == "l1"
    assert order[1:-1] == ["s4", "m7", "m6", "c2"]
    code, out, err = mw_split(ruled, "list", "--priority", "high", "--jsonl")
    assert [json.loads(line)["priority"] for line in out.splitlines()] == ["high"]
    code, out, err = mw_split(ruled, "list", "--priority", "low", "--priority", "high", "--jsonl")
    assert len(out.splitlines()) == 2
    code, out, err = mw_split(ruled, "list", "--tag", "PERF", "--jsonl")
    assert {json.loads(line)["url"].rsplit("/", 1)[1] for line in out.splitlines()} == {"l1"}
    code, out = mw(ruled, "list")
    line = next(x for x in out.splitlines() if "refund please" in x)
    assert re.search(r"\bhigh\b", line) and "[complaint] refund please" in line


def test_check_and_digest_filter_by_priority_and_tag(ruled: Path) -> None:
    store_with_rules(ruled, "brand", "mastodon", ("h1", "refund please"), ("l1", "slow"))
    # An hour later: the complaint is past its rule's 30m, the slow one within its 2h.
    code, out, err = mw_split(ruled, "check", "--json")
    everything = {str(r["url"]).rsplit("/", 1)[1] for r in json.loads(out)}
    assert code == 1 and "h1" in everything and len(everything) > 1
    code, out, err = mw_split(ruled, "check", "--tag", "complaint", "--json")
    assert code == 1 and [str(r["url"]).rsplit("/", 1)[1] for r in json.loads(out)] == ["h1"]
    code, out, err = mw_split(ruled, "check", "--priority", "high", "--json")
    assert code == 1 and [r["priority"] for r in json.loads(out)] == ["high"]
    code, out, err = mw_split(ruled, "check", "--tag", "perf")
    assert (code, out) == (0, "")  # the slow one waits, but within its SLA
    code, out = mw(ruled, "digest")
    assert code == 0 and "refund please" in out and "slow" in out
    code, out = mw(ruled, "digest", "--tag", "complaint")
    assert code == 0 and "refund please" in out and "slow" not in out
    code, out = mw(ruled, "digest", "--priority", "low")
    assert code == 0 and "slow" in out and "refund please" not in out


def test_tag_filter_takes_like_wildcards_literally(ruled: Path, tmp_path: Path) -> None:
    text = ruled.read_text().replace('tags = ["perf"]', 'tags = ["perf_x"]')
    ruled.write_text(text)
    store_with_rules(ruled, "brand", "mastodon", ("t1", "slow"))
    code, out, err = mw_split(ruled, "list", "--tag", "perf_x", "--jsonl")
    assert len(out.splitlines()) == 1
    code, out, err = mw_split(ruled, "list", "--tag", "perfax", "--jsonl")
    assert out.strip() == ""


def test_priority_and_tags_are_in_csv_and_show(ruled: Path) -> None:
    store_with_rules(ruled, "brand", "mastodon", ("h1", "refund, it is slow"))
    code, out, err = mw_split(ruled, "export", "--format", "csv")
    rows = {r["url"].rsplit("/", 1)[1]: r for r in csv.DictReader(io.StringIO(out))}
    assert (rows["h1"]["priority"], rows["h1"]["tags"]) == ("high", "perf,complaint")
    assert rows["m7"]["priority"] == "normal" and rows["m7"]["tags"] == ""
    code, out = mw(ruled, "show", str(stored(ruled)["h1"]["id"]))
    assert "Priority  high" in out and "Tags      perf, complaint" in out


def test_rule_sla_counts_business_hours_of_the_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    config, _ = build(tmp_path, RULES, history=False)
    # support: Mon-Fri 09:00-18:00 Berlin (08:00-17:00 UTC), SLA 4h. At Thu 16:50 UTC ten
    # business minutes are left that day; the rule's 30m end at Fri 08:20 UTC.
    with Store.open(load(config).settings.database or Path()) as store:
        store.save_poll("support", "github", [mention("b1", at(19, 16, 50), "refund now")], [],
                        {}, NOW, load(config).ruleset.outcomes)  # fmt: skip
    row = stored(config)["b1"]
    assert row["sla_seconds"] == 1800 and row["sla_clock"] == "business hours"
    assert row["sla_due_at"] == "2026-11-20T08:20:00+00:00"
    assert row["sla_status"] == "breached"
    code, out, err = mw_split(config, "list", "--state", "breached", "--jsonl")
    assert [json.loads(x)["url"].rsplit("/", 1)[1] for x in out.splitlines()] == ["b1"]
    code, out, err = mw_split(config, "check")
    assert code == 1


def test_rule_sla_shorter_than_the_account_s_is_found_by_overdue(ruled: Path) -> None:
    # brand's SLA is 1h; a 30m rule makes a 40-minute-old mention overdue.
    with Store.open(load(ruled).settings.database or Path()) as store:
        store.save_poll("brand", "mastodon", [mention("o1", at(20, 14, 20), "refund")], [],
                        {}, NOW, load(ruled).ruleset.outcomes)  # fmt: skip
    code, out, err = mw_split(ruled, "list", "--overdue", "--jsonl")
    assert "o1" in {json.loads(x)["url"].rsplit("/", 1)[1] for x in out.splitlines()}


def test_rules_apply_reapplies_and_says_what_changed(ruled: Path) -> None:
    store_with_rules(ruled, "brand", "mastodon", ("a1", "refund"), ("a2", "giveaway now"),
                     ("a3", "howdy"))  # fmt: skip
    ids = {k: v["id"] for k, v in stored(ruled).items()}
    code, out = mw(ruled, "dismiss", str(ids["a3"]))  # by hand: rules apply leaves it alone
    # Refunds are no longer complaints; giveaways are no longer dismissed; howdy is spam now.
    text = (
        ruled.read_text()
        .replace("(refund OR broken", "(broken")
        .replace('match = "giveaway"', 'match = "howdy"')
    )
    ruled.write_text(text)
    code, out = mw(ruled, "rules", "apply")
    assert code == 0, out
    assert (
        f"#{ids['a1']} (mastodon/brand, fan): priority high -> normal, tags -complaint, "
        "SLA 30m -> the account's" in out
    )
    assert (
        f"#{ids['a2']} (mastodon/brand, fan): reopened (rule 'also-spam' no longer dismisses it)"
        in out
    )
    assert "4 rules applied to" in out and "2 changed (1 reopened)." in out
    rows = stored(ruled)
    assert (rows["a1"]["priority"], rows["a1"]["tags"], rows["a1"]["sla_seconds"]) == (
        "normal",
        [],
        3600,
    )
    assert rows["a2"]["state"] == "open" and rows["a2"]["dismissed_rule"] is None
    assert rows["a3"]["state"] == "dismissed" and rows["a3"]["dismissed_rule"] is None
    code, out = mw(ruled, "rules", "apply")
    assert "nothing changed." in out


def test_rules_test_shows_the_stored_mentions_an_expression_matches(ruled: Path) -> None:
    store_with_rules(ruled, "brand", "mastodon", ("x1", "Café au lait"), ("x2", "cafeteria"))
    code, out = mw(ruled, "rules", "test", "CAFE")
    assert code == 0 and "Café au lait" in out and "cafeteria" not in out and "1 match" in out
    code, out, err = mw_split(ruled, "rules", "test", "hello -m7", "--json")
    assert {r["url"].rsplit("/", 1)[1] for r in json.loads(out)} >= {"m1", "c1", "s1"}
    code, out = mw(ruled, "rules", "test", 'refund "oops')
    assert code == 2 and "EXPRESSION: unclosed quote at column 8" in out


# -- config errors ---------------------------------------------------------------------------


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "c.toml"
    account = '[[accounts]]\nname = "brand"\nplatform = "hackernews"\n'
    # A top-level key must come before the first table.
    text = body + account if body.startswith("rules =") else account + body
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'keywords = ["ok", "good \\"bad"]\n',
            "account 'brand': keywords[1]: unclosed quote at column 6",
        ),
        (
            'keywords = ["/exampleco/i"]\n',
            "keywords[0]: '/exampleco/i' gives the search nothing to look for",
        ),
        ('keywords = ["a OR author:x"]\n', "keywords[0]: 'a OR author:x' gives the search nothing"),
        (
            '[[rules]]\nname = "x"\nmatch = "a)"\npriority = "high"\n',
            "rule 'x': key 'match': unexpected ')' at column 2",
        ),
        (
            '[[rules]]\nname = "x"\nmatch = "a"\npriority = "urgent"\n',
            "rule 'x': key 'priority' must be one of high, normal, low",
        ),
        (
            '[[rules]]\nname = "x"\nmatch = "a"\n',
            "rule 'x': does nothing: give it priority, sla, tags or dismiss",
        ),
        ('[[rules]]\nname = "x"\npriority = "low"\n', "rule 'x': key 'match' is required"),
        ('[[rules]]\nmatch = "a"\npriority = "low"\n', "rules[0]: key 'name' is required"),
        ('[[rules]]\nname = "x"\nmatch = "a"\nprio = "low"\n', "rule 'x': unknown key 'prio'"),
        (
            '[[rules]]\nname = "x"\nmatch = "a"\nsla = "soon"\n',
            "rule 'x': key 'sla': 'soon' is not a duration",
        ),
        (
            '[[rules]]\nname = "x"\nmatch = "a"\ntags = ["a b"]\n',
            "rule 'x': key 'tags': 'a b': a tag is letters",
        ),
        (
            '[[rules]]\nname = "x"\nmatch = "a"\ndismiss = ""\n',
            "rule 'x': key 'dismiss' must be a reason",
        ),
        (
            '[[rules]]\nname = "x"\nmatch = "account:brnd"\ndismiss = "x"\n',
            "account:brnd: no such account (known: brand)",
        ),
        (
            '[[rules]]\nname = "x"\nmatch = "a"\ndismiss = "x"\n'
            '[[rules]]\nname = "x"\nmatch = "b"\ndismiss = "y"\n',
            "rules[1]: duplicate rule name 'x'",
        ),
        ('rules = "no"\n', "'rules' must be [[rules]] tables"),
    ],
)
@pytest.mark.one_backend
def test_a_bad_expression_or_rule_is_a_config_error_naming_where(
    tmp_path: Path, body: str, message: str
) -> None:
    path = _config(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    code, out = mw(path, "config", "check")
    assert code == 3 and message in out


@pytest.mark.one_backend
def test_config_check_counts_the_rules(tmp_path: Path) -> None:
    code, out = mw(_config(tmp_path, RULES), "config", "check")
    assert code == 0 and "OK, 1 account, 4 rules." in out, out


@pytest.mark.one_backend
def test_the_starter_rules_are_valid_once_uncommented(tmp_path: Path) -> None:
    from mentionwatch.starter import STARTER_CONFIG

    block = STARTER_CONFIG.split("\n# Inbox rules")[1]
    rules = "\n".join(line[2:] for line in block.splitlines() if line.startswith("# "))
    path = _config(tmp_path, rules.split("\n", 1)[1])  # without the first comment line
    config = load(path)
    assert [r.name for r in config.rules] == ["complaints", "spam"]
    outcome = config.ruleset.outcome("free crypto at https://x.example")
    assert outcome.dismissed == "spam"
    assert config.ruleset.outcome("I want a refund").priority == 0


@pytest.mark.one_backend
def test_rules_are_stored_filtered_and_reapplied_alike_on_both_backends(
    db_location: Path | str, tmp_path: Path
) -> None:
    from mentionwatch.config import parse

    raw = {"rules": [
        {"name": "c", "match": "refund", "priority": "high", "sla": "30m", "tags": ["a_b"]},
        {"name": "s", "match": "giveaway", "dismiss": "spam", "tags": ["spam"]},
    ]}  # fmt: skip
    rules = parse(raw, tmp_path / "c.toml").ruleset
    found = [mention("p1", at(20, 14), "refund now"), mention("p2", at(20, 14, 1), "giveaway"),
             mention("p3", at(20, 14, 2), "hello")]  # fmt: skip
    with Store.open(db_location) as store:
        saved = store.save_poll("brand", "mastodon", found, [], {}, NOW, rules.outcomes)
        assert (saved.new_mentions, saved.dismissed) == (3, 1)

        def ids(**where: object) -> list[str]:
            chosen = MentionFilter(**{"states": (), **where})  # type: ignore[arg-type]
            return [m.remote_id for m in store.mentions(chosen, NOW)]

        assert ids() == ["p1", "p2", "p3"]  # high first, then by age
        assert ids(tags=("a_b",)) == ["p1"] and ids(tags=("aab",)) == []
        assert ids(priorities=(1,)) == ["p2", "p3"]
        assert ids(states=(State.DISMISSED,), tags=("spam",)) == ["p2"]
        quieter = parse({"rules": [raw["rules"][0]]}, tmp_path / "c.toml").ruleset
        checked, changes = store.reapply(quieter.outcome, NOW)
        assert checked == 3 and [c.mention.remote_id for c in changes] == ["p2"]
        assert ids(states=(State.OPEN,)) == ["p1", "p2", "p3"]
