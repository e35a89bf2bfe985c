"""Config validation: every mistake is one line naming file, account and key, exit 3."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.config import database_path, load
from mentionwatch.store import Store

runner = CliRunner()

GOOD = """
[settings]
sla = "2h"

[[accounts]]
name = "brand"
platform = "mastodon"
server = "https://mastodon.example"
handle = "@brand"
token = "env:MW_TEST_TOKEN"
keywords = ["ExampleCo"]
sla = "30m"
"""


def check(path: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(path), "config", "check", *extra], env=env)
    return result.exit_code, result.output


def test_good_config_is_listed_with_secrets_redacted(
    write_config: Callable[[str], Path],
) -> None:
    code, output = check(write_config(GOOD), env={"MW_TEST_TOKEN": "tok-123456"})
    assert code == 0, output
    assert "brand" in output and "env MW_TEST_TOKEN" in output and "30m" in output
    assert "tok-123456" not in output


def test_settings_and_defaults_reach_accounts(write_config: Callable[[str], Path]) -> None:
    config = load(write_config(GOOD.replace('sla = "30m"\n', "")))
    [account] = config.accounts
    assert account.sla.total_seconds() == 7200
    assert account.handle == "brand"
    assert account.keywords == ("ExampleCo",)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("keywords", "colour = 'red'\nkeywords"), "account 'brand': unknown key 'colour'"),
        (('sla = "30m"', 'sla = "30x"'), "account 'brand': key 'sla': '30x' is not a duration"),
        (('platform = "mastodon"', 'platform = "myspace"'), "unknown platform 'myspace'"),
        (('keywords = ["ExampleCo"]', 'keywords = "ExampleCo"'), "key 'keywords' must be a list"),
        (('sla = "2h"', "sla = 2"), "[settings]: key 'sla': 2 is not a duration"),
        (('handle = "@brand"', "handle = 5"), "key 'handle' must be a str"),
        (('server = "https://mastodon.example"', 'server = "ftp://x"'), "must start with https"),
        (('name = "brand"', "nom = 1"), "accounts[0]: key 'name' is required"),
        (("[settings]", "[setings]"), "unknown key 'setings' (did you mean 'settings'?)"),
        (("token =", "tokn ="), "account 'brand': unknown key 'tokn' (did you mean 'token'?)"),
        (("[[accounts]]", "[[accounts]\n"), "invalid TOML"),
    ],
)
def test_each_mistake_is_one_clear_line_with_exit_3(
    write_config: Callable[[str], Path], change: tuple[str, str], expected: str
) -> None:
    path = write_config(GOOD.replace(*change, 1))
    code, output = check(path, env={"MW_TEST_TOKEN": "t"})
    assert code == 3
    assert expected in output
    assert str(path) in output
    assert output.strip().count("\n") == 0


def account_table(platform: str, *lines: str) -> str:
    return "\n".join(["[[accounts]]", 'name = "acct"', f'platform = "{platform}"', *lines]) + "\n"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            account_table("mastodon", 'server = "https://m.example"', 'handle = "brand"'),
            "key 'token' is required for mastodon (as \"env:NAME\" or 'token_file')",
        ),
        (
            account_table("bluesky", 'handle = "brand.bsky.social"'),
            "account 'acct': key 'app_password' is required for bluesky",
        ),
        (
            account_table(
                "reddit",
                'handle = "brand"',
                'client_id = "id"',
                'client_secret = "env:MW_TEST_TOKEN"',
            ),
            "account 'acct': key 'password' or 'refresh_token' is required for reddit",
        ),
        (
            account_table("twitter", 'handle = "brand"', 'token = "env:"'),
            "account 'acct': key 'token': \"env:\" needs a variable name",
        ),
        (
            account_table(
                "mastodon",
                'server = "https://a.example"',
                'api_url = "https://b.example"',
                'handle = "brand"',
                'token = "env:MW_TEST_TOKEN"',
            ),
            "account 'acct': give 'server' or 'api_url' (the same key), not both",
        ),
        (
            account_table(
                "bluesky",
                'handle = "b"',
                'app_password = "env:MW_TEST_TOKEN"',
                'appview = "api.bsky.app"',
            ),
            "account 'acct': key 'appview': 'api.bsky.app' must start with https://",
        ),
        (
            account_table(
                "reddit", 'handle = "brand"', "client_id = 123", 'password = "env:MW_TEST_TOKEN"'
            ),
            "account 'acct': key 'client_id' must be a str, not 123",
        ),
        (
            account_table("feed", 'url = "https://example.com/feed"', 'keywords = ["ExampleCo"]'),
            "account 'acct': key 'keywords': a feed has no search",
        ),
        (account_table("feed", 'url = ""'), "account 'acct': key 'url' is required for feed"),
    ],
)
def test_a_missing_secret_or_a_mistyped_platform_key_is_one_line_with_exit_3(
    write_config: Callable[[str], Path], table: str, expected: str
) -> None:
    path = write_config(table)
    code, output = check(path, env={"MW_TEST_TOKEN": "t"})
    assert code == 3, output
    assert output.startswith(f"mentionwatch: {path}: account 'acct': ")
    assert expected in output
    assert output.strip().count("\n") == 0


def test_a_disabled_account_or_a_read_only_command_needs_no_secret(
    write_config: Callable[..., Path],
) -> None:
    table = account_table("github", 'handle = "octocat"')
    path = write_config(table + "enabled = false\n")
    assert check(path)[0] == 0
    Store.open(database_path(None, None)).close()  # a poll made it; `list` needs no secret
    listed = runner.invoke(app, ["--config", str(write_config(table, "b.toml")), "list"])
    assert listed.exit_code == 0, listed.output


def test_duplicate_account_names_are_refused(write_config: Callable[[str], Path]) -> None:
    code, output = check(write_config(GOOD + GOOD.split('[settings]\nsla = "2h"')[1]))
    assert code == 3 and "duplicate account name 'brand'" in output


def test_missing_environment_variable_is_named(write_config: Callable[[str], Path]) -> None:
    code, output = check(write_config(GOOD), env={"MW_TEST_TOKEN": ""})
    assert code == 3
    assert "account 'brand': key 'token': environment variable MW_TEST_TOKEN is not set" in output


def test_token_file_must_be_private(write_config: Callable[[str], Path], tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("file-secret\n")
    secret.chmod(0o644)
    path = write_config(GOOD.replace('token = "env:MW_TEST_TOKEN"', f'token_file = "{secret}"'))
    code, output = check(path)
    assert code == 3 and "readable by group or others" in output and "file-secret" not in output
    secret.chmod(0o600)
    config = load(path).with_secrets()
    assert config.accounts[0].secret("token") == "file-secret"


def test_plain_secret_is_refused_in_a_readable_config(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(GOOD.replace("env:MW_TEST_TOKEN", "plain-secret"))
    path.chmod(0o644)
    code, output = check(path)
    assert code == 3 and "chmod 600" in output and "plain-secret" not in output


def test_missing_config_file_says_how_to_create_one(tmp_path: Path) -> None:
    code, output = check(tmp_path / "nope.toml")
    assert code == 3 and "mentionwatch init" in output


def test_init_writes_a_private_starter_config_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.toml"
    first = runner.invoke(app, ["--config", str(path), "init"])
    assert first.exit_code == 0
    assert os.stat(path).st_mode & 0o777 == 0o600
    load(path)  # the starter is valid
    path.write_text("# mine\n")
    again = runner.invoke(app, ["--config", str(path), "init"])
    assert again.exit_code == 2 and "already exists" in again.output
    assert path.read_text() == "# mine\n"
    forced = runner.invoke(app, ["--config", str(path), "init", "--force"])
    assert forced.exit_code == 0 and "[settings]" in path.read_text()
    code, output = check(path)
    assert code == 0 and "no [[accounts]] yet" in output


def test_each_starter_account_block_is_valid_once_uncommented(tmp_path: Path) -> None:
    from mentionwatch.sources.registry import PLATFORMS
    from mentionwatch.starter import STARTER_CONFIG

    accounts = STARTER_CONFIG.split("\n# Inbox rules")[0]  # the rules: test_rules_config.py
    settings, *blocks = accounts.split("\n# [[accounts]]\n")
    assert sorted(b.split('platform = "')[1].split('"')[0] for b in blocks) == sorted(PLATFORMS)
    names = ["MASTODON_TOKEN", "BSKY_APP_PASSWORD", "GITHUB_TOKEN", "REDDIT_CLIENT_SECRET",
             "REDDIT_PASSWORD", "X_BEARER_TOKEN"]  # fmt: skip
    env = dict.fromkeys(names, "x")
    for block in blocks:
        path = tmp_path / "config.toml"
        uncommented = re.sub(r"(?m)^# ", "", block)
        path.write_text(settings + "\n[[accounts]]\n" + uncommented)
        path.chmod(0o600)
        config = load(path).with_secrets(env.get)
        assert len(config.accounts) == 1, block


def test_example_config_is_valid() -> None:
    root = Path(__file__).resolve().parent.parent
    config = load(root / "config.example.toml")
    enabled = [a.name for a in config.accounts if a.enabled]
    assert enabled == ["exampleco-alerts"]
    assert Path(config.accounts[0].options["url"]).is_file()
