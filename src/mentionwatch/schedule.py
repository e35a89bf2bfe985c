"""`mentionwatch schedule`: a crontab block or systemd units that work in their bare environment.

Cron runs commands with PATH=/usr/bin:/bin and none of the shell's variables, so every line
names the executable and the config by absolute path, and secrets kept in environment
variables come from a 0600 env file (`--env-file`, or systemd's EnvironmentFile=).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mentionwatch.config import Config

POLL_EVERY_MINUTES = 10
DIGEST_AT = "08:00"  # weekdays


@dataclass(frozen=True)
class Secrets:
    """What the scheduled commands will need: variables (for the env file) and files."""

    variables: tuple[tuple[str, str], ...]  # (NAME, what needs it)
    files: tuple[tuple[str, str], ...]  # (path, what needs it)


def needed_secrets(config: Config) -> Secrets:
    variables: list[tuple[str, str]] = []
    files: list[tuple[str, str]] = []

    def note(source: str | None, what: str) -> None:
        if source and source.startswith("env "):
            variables.append((source[4:], what))
        elif source and source.startswith("file "):
            files.append((source[5:], what))

    for account in config.accounts:
        if account.enabled:
            for key, source in account.secret_sources.items():
                note(source, f"account {account.name!r}, key {key!r}")
    if config.digest:
        from mentionwatch.digest.settings import digest_settings

        smtp = digest_settings(config).smtp
        note(smtp.password_source if smtp else None, "[digest.smtp] password")
    if config.settings.password_file is not None:
        note(f"file {config.settings.password_file}", "[settings] password_file")
    return Secrets(tuple(dict.fromkeys(variables)), tuple(dict.fromkeys(files)))


def digest_delivery(config: Config) -> str:
    """How the scheduled digest goes out: by SMTP when configured, else cron's MAILTO."""
    if config.digest and config.digest.get("smtp"):
        return "--email"
    return "--stdout"


def _command(base: Sequence[str], *args: str) -> str:
    return " ".join(shlex.quote(part) for part in (*base, *args))


def base_command(
    executable: Sequence[str], config_path: Path, db: Path | str | None, env_file: Path | None
) -> list[str]:
    base = [*executable, "--config", str(config_path)]
    if db is not None:
        base += ["--db", str(db)]
    if env_file is not None:
        base += ["--env-file", str(env_file)]
    return base


def crontab(config: Config, base: Sequence[str], secrets: Secrets, env_file: Path) -> str:
    """A block for `crontab -e`."""
    delivery = digest_delivery(config)
    to = [str(a) for a in (config.digest or {}).get("to", [])]
    lines = [
        f"# mentionwatch: poll every {POLL_EVERY_MINUTES} minutes; the digest at {DIGEST_AT} on "
        "weekdays.",
        "# Install: crontab -e, then paste this block.",
        *_secret_notes(secrets, env_file, "cron passes none of your shell's variables"),
    ]
    if delivery == "--stdout":
        lines.append("# cron mails what the digest line prints to MAILTO.")
        lines.append(f"MAILTO={to[0] if to else 'you@example.com'}")
    else:
        lines.append("# Errors go to MAILTO; the digest itself by SMTP ([digest.smtp]).")
    poll = _command(base, "poll", "--lock-timeout", "60")
    morning = _command(base, "poll", "--lock-timeout", "300")
    digest = _command(base, "digest", delivery, "--if-any")
    hour, minute = DIGEST_AT.split(":")
    lines += [
        # % ends a cron command (the rest becomes its stdin): escape it in paths.
        f"*/{POLL_EVERY_MINUTES} * * * * {poll} >/dev/null".replace("%", "\\%"),
        # ";" not "&&": one failing account (exit 4) must not hold back the digest.
        f"{int(minute)} {int(hour)} * * 1-5 {morning} >/dev/null; {digest}".replace("%", "\\%"),
    ]
    return "\n".join(lines) + "\n"


def systemd_units(config: Config, base: Sequence[str], secrets: Secrets, env_file: Path) -> str:
    """User units for ~/.config/systemd/user/: a poll timer and a digest timer."""
    environment = [f"EnvironmentFile={env_file}"] if secrets.variables else []
    poll = _command(base, "poll", "--lock-timeout", "60")
    units = [
        ("mentionwatch-poll.service", [
            "[Unit]", "Description=mentionwatch: poll for new mentions", "",
            "[Service]", "Type=oneshot", *environment, f"ExecStart={poll}",
        ]),
        ("mentionwatch-poll.timer", [
            "[Unit]", f"Description=mentionwatch poll every {POLL_EVERY_MINUTES} minutes", "",
            "[Timer]", f"OnCalendar=*:0/{POLL_EVERY_MINUTES}", "", "[Install]",
            "WantedBy=timers.target",
        ]),
    ]  # fmt: skip
    delivery = digest_delivery(config)
    if delivery == "--email":
        morning = _command(base, "poll", "--lock-timeout", "300")
        digest = _command(base, "digest", delivery, "--if-any")
        units += [
            ("mentionwatch-digest.service", [
                "[Unit]", "Description=mentionwatch: poll, then email the digest", "",
                "[Service]", "Type=oneshot", *environment,
                '# "-": a failing account must not hold back the digest',
                f"ExecStart=-{morning}", f"ExecStart={digest}",
            ]),
            ("mentionwatch-digest.timer", [
                "[Unit]", "Description=mentionwatch digest every weekday morning", "",
                "[Timer]", f"OnCalendar=Mon..Fri {DIGEST_AT}", "Persistent=true", "",
                "[Install]", "WantedBy=timers.target",
            ]),
        ]  # fmt: skip
    timers = " ".join(name for name, _ in units if name.endswith(".timer"))
    lines = [
        "# mentionwatch: systemd user units. Save each one below under ~/.config/systemd/user/,",
        f"# then: systemctl --user daemon-reload && systemctl --user enable --now {timers}",
        *_secret_notes(secrets, env_file, "systemd passes none of your shell's variables"),
    ]
    if delivery != "--email":
        lines.append("# No digest unit: under systemd it needs [digest.smtp] (there is no MAILTO).")
    for name, body in units:
        lines += ["", f"# --- {name}", *body]
    return "\n".join(lines) + "\n"


def _secret_notes(secrets: Secrets, env_file: Path, why: str) -> list[str]:
    notes = []
    if secrets.variables:
        notes.append(f"# Secrets: {why}. Put these in {env_file} (chmod 600), one NAME=value")
        notes.append("# a line:")
        notes += [f"#   {name}=...   ({what})" for name, what in secrets.variables]
        notes.append('# (or give those keys as KEY_file = "path" in the config instead).')
    for path, what in secrets.files:
        notes.append(f"# Read from {path} ({what}): keep it chmod 600.")
    if not secrets.variables and not secrets.files:
        notes.append("# No secrets needed.")
    return notes
