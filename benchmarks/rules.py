"""Matching 20 inbox rules against stored mentions, beside storing the same mentions.

    .venv/bin/python -m benchmarks.rules 100000      # prints one JSON line of seconds

All in this one process, alternating, on the same mentions: storing them (`Store.save_poll`
into a fresh database, as a poll does without rules); matching every rule against every one
of them (`RuleSet.outcomes`, the call `save_poll` makes with rules); and, for the record,
storing them with the rules. The last is less than the first two together: a big poll is
staged on two cores, each matching the rules against its half (store/inserts.py).
The mentions are what a poll stores: posts of 60-280 characters, a tenth of them with a
link, a few with accents, authors and languages of their own; some match a rule, most none.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mentionwatch.config import parse
from mentionwatch.fetched import Mention
from mentionwatch.models import Kind
from mentionwatch.rules import RuleSet
from mentionwatch.store import Store

RULES = [
    ("complaints", '(refund OR broken OR cancel OR "worst" OR scam) -"not broken"'),
    ("vip", "author:@bigcustomer@example.social OR author:journalist.bsky.social"),
    ("spam", 'has:link (giveaway OR "free crypto" OR airdrop)'),
    ("outage", 'outage OR down OR "not working" OR "status page"'),
    ("billing", "invoice OR billing OR charged OR overcharged OR receipt"),
    ("security", "security OR vulnerability OR cve OR breach OR phishing"),
    ("praise", "love OR awesome OR great OR thanks -refund"),
    ("press", "journalist OR interview OR article OR podcast"),
    ("brand-regex", "/example-?co/i"),
    ("german", "lang:de"),
    ("french", "lang:fr (problème OR aide OR remboursement)"),
    ("login", 'password OR login OR "sign in" OR 2fa'),
    ("mobile", "(android OR ios OR iphone) (crash OR freeze OR slow)"),
    ("pricing", "price OR pricing OR expensive OR discount"),
    ("competitor", '"acme planner" OR acmeplanner OR #acme'),
    ("docs", "docs OR documentation OR tutorial -kind:keyword"),
    ("hiring", "kind:keyword (hiring OR job OR career)"),
    ("own-domain", "domain:example.com"),
    ("urgent", "urgent OR asap OR emergency OR help"),
    ("feature", '"feature request" OR roadmap OR "would be nice"'),
]

WORDS = (
    "the export is again and we our team you it to for with on this that calendar sync app "
    "widget schedule meeting today tomorrow week please could would why how when still new "
    "update version release works fine nice morning office plan studio mobile desktop web "
    "users people customer support question answer idea thought anyone here using"
).split()
SPICE = ["refund", "broken", "love", "outage", "invoice", "crash", "ios", "pricing", "café",
         "problème", "urgent", "ExampleCo", "roadmap", "#help", "giveaway", "docs"]  # fmt: skip


def ruleset() -> RuleSet:
    body = "".join(
        f'[[rules]]\nname = "{name}"\nmatch = {json.dumps(match)}\npriority = "high"\n'
        f'tags = ["{name}"]\n'
        for name, match in RULES
    )
    import tomllib

    config = parse(tomllib.loads(body), Path("bench.toml"))
    return config.ruleset


def mentions(count: int, seed: int = 7) -> list[Mention]:
    rnd = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    found = []
    for i in range(count):
        words = [rnd.choice(WORDS) for _ in range(rnd.randint(10, 45))]
        if rnd.random() < 0.3:
            words.insert(rnd.randrange(len(words)), rnd.choice(SPICE))
        if rnd.random() < 0.1:
            words.append(f"https://{rnd.choice(['example.com', 'blog.example.org'])}/p/{i}")
        text = " ".join(words).capitalize() + rnd.choice([".", "?", "!", " :)"])
        found.append(
            Mention(
                remote_id=str(10**9 + i),
                url=f"https://example.social/@fan{i % 997}/{10**9 + i}",
                author=f"fan{i % 997}@example.social",
                text=text,
                created_at=start + timedelta(seconds=i),
                kind=Kind.MENTION,
                lang=rnd.choice(["en", "en", "en", "de", "fr", ""]),
            )
        )
    return found


def time_storing(batch: list[Mention], db: Path, rules: RuleSet | None = None) -> float:
    with Store.open(db) as store:
        decide = rules.outcomes if rules is not None else None
        began = time.perf_counter()
        store.save_poll("brand", "mastodon", batch, [], {}, datetime.now(UTC), decide)
        return time.perf_counter() - began


def time_matching(batch: list[Mention], rules: RuleSet) -> float:
    began = time.perf_counter()
    rules.outcomes(batch, "mastodon", "brand")
    return time.perf_counter() - began


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 100_000
    repeats = int(argv[1]) if len(argv) > 1 else 3
    rules = ruleset()
    batch = mentions(count)
    matched = sum(bool(rules.outcome(m.text, m.title, m.author, "mastodon", "brand", m.kind,
                                     m.lang).rules) for m in batch)  # fmt: skip
    store_times, ruled_times, match_times = [], [], []
    with tempfile.TemporaryDirectory(prefix="mentionwatch-rules-") as tmp:
        for rep in range(repeats):
            store_times.append(time_storing(batch, Path(tmp) / f"plain-{rep}.db"))
            ruled_times.append(time_storing(batch, Path(tmp) / f"ruled-{rep}.db", rules))
            match_times.append(time_matching(batch, rules))
    result = {
        "mentions": count,
        "rules": len(rules.rules),
        "matched": matched,
        "store_seconds": statistics.median(store_times),
        "store_with_rules_seconds": statistics.median(ruled_times),
        "match_seconds": statistics.median(match_times),
        "repeats": repeats,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
