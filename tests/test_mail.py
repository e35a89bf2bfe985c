"""Delivery against real SMTP servers on 127.0.0.1, and a stand-in sendmail binary."""

from __future__ import annotations

import stat
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from mentionwatch.digest.mail import send_sendmail, send_smtp, sendmail_path
from mentionwatch.digest.settings import SmtpSettings
from mentionwatch.errors import EXIT_DELIVERY, DeliveryError
from tests.mailserver import PASSWORD, USER, free_port, silent_server, smtp_server

# Plain AUTH on loopback is what these tests mean to exercise.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SENDER = "mentionwatch <mw@example.com>"
TO = ("team@example.com", "Ops <ops@example.com>")


def message() -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = "mentionwatch: 2 waiting (1 overdue), oldest 9h 🔥"
    msg["From"] = SENDER
    msg["To"] = ", ".join(TO)
    msg.set_content("héllo 👋\n", cte="quoted-printable")
    msg.add_alternative("<p>héllo 👋</p>", subtype="html", cte="quoted-printable")
    return msg


def settings(port: int, security: str = "none", **kw: object) -> SmtpSettings:
    options: dict[str, object] = {"timeout": timedelta(seconds=5)}
    options.update(kw)
    return SmtpSettings("127.0.0.1", port, security, **options)  # type: ignore[arg-type]


def test_plain_smtp_delivers_one_message_to_every_recipient(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        refused = send_smtp(message(), settings(server.port), SENDER, TO)
    assert refused == []
    [got] = server.inbox.messages
    assert got.mail_from == "mw@example.com"
    assert got.rcpt_tos == ["team@example.com", "ops@example.com"]
    parsed = got.parsed()
    assert parsed["Subject"].endswith("🔥")
    body = parsed.get_body(("plain",))
    assert body is not None and body.get_content().splitlines() == ["héllo 👋"]


def test_starttls_with_the_private_ca_delivers(tmp_path: Path) -> None:
    with smtp_server(tmp_path, security="starttls") as server:
        smtp = settings(server.port, "starttls", ca_file=server.ca_file)
        send_smtp(message(), smtp, SENDER, TO)
    assert len(server.inbox.messages) == 1


def test_implicit_tls_delivers(tmp_path: Path) -> None:
    with smtp_server(tmp_path, security="ssl") as server:
        send_smtp(message(), settings(server.port, "ssl", ca_file=server.ca_file), SENDER, TO)
    assert len(server.inbox.messages) == 1


def test_starttls_without_the_ca_says_the_certificate_is_not_trusted(tmp_path: Path) -> None:
    with smtp_server(tmp_path, security="starttls") as server:
        with pytest.raises(DeliveryError, match="certificate not trusted.*ca_file"):
            send_smtp(message(), settings(server.port, "starttls"), SENDER, TO)
    assert server.inbox.messages == []


def test_login_over_starttls_delivers(tmp_path: Path) -> None:
    with smtp_server(tmp_path, security="starttls", auth=True) as server:
        smtp = settings(
            server.port, "starttls", ca_file=server.ca_file, username=USER, password=PASSWORD
        )
        send_smtp(message(), smtp, SENDER, TO)
    assert server.inbox.logins == [USER]
    assert len(server.inbox.messages) == 1


def test_login_on_loopback_without_tls_delivers(tmp_path: Path) -> None:
    with smtp_server(tmp_path, auth=True) as server:
        send_smtp(message(), settings(server.port, username=USER, password=PASSWORD), SENDER, TO)
    assert server.inbox.logins == [USER]


def test_bad_credentials_fail_clearly_and_never_show_the_password(tmp_path: Path) -> None:
    wrong = "wrong-Pa55-word"
    with smtp_server(tmp_path, auth=True) as server:
        with pytest.raises(DeliveryError) as caught:
            send_smtp(message(), settings(server.port, username=USER, password=wrong), SENDER, TO)
    text = str(caught.value)
    assert "authentication failed" in text and USER in text and "535" in text
    assert wrong not in text and "\n" not in text
    assert caught.value.exit_code == EXIT_DELIVERY
    assert server.inbox.messages == []


def test_a_server_that_wants_a_login_refuses_an_anonymous_digest(tmp_path: Path) -> None:
    with smtp_server(tmp_path, auth=True) as server:
        with pytest.raises(DeliveryError, match="530"):
            send_smtp(message(), settings(server.port), SENDER, TO)


def test_connection_refused_names_host_and_port() -> None:
    port = free_port()
    with pytest.raises(DeliveryError) as caught:
        send_smtp(message(), settings(port), SENDER, TO)
    assert str(caught.value).startswith(
        f"digest not sent: SMTP 127.0.0.1:{port}: connection refused"
    )


def test_a_server_that_never_answers_times_out() -> None:
    with silent_server() as port:
        smtp = settings(port, timeout=timedelta(milliseconds=300))
        with pytest.raises(DeliveryError, match=r"timed out after 0\.3s"):
            send_smtp(message(), smtp, SENDER, TO)


def test_tls_against_a_plain_server_points_at_the_security_setting(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        with pytest.raises(DeliveryError, match="TLS failed.*security = 'ssl'"):
            send_smtp(message(), settings(server.port, "ssl"), SENDER, TO)


def test_starttls_against_a_server_without_it_says_so(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
            send_smtp(message(), settings(server.port, "starttls"), SENDER, TO)


def fake_sendmail(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "sendmail"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_sendmail_gets_the_whole_message_with_t_and_oi(tmp_path: Path) -> None:
    out = tmp_path / "out.eml"
    script = fake_sendmail(tmp_path, f'echo "$@" > {out}.args; cat > {out}')
    assert send_sendmail(message(), str(script)) == []
    assert (tmp_path / "out.eml.args").read_text().split() == ["-t", "-oi"]
    assert b"Subject: mentionwatch: 2 waiting" in out.read_bytes()
    assert b"multipart/alternative" in out.read_bytes()


def test_sendmail_failure_reports_its_status_and_first_error_line(tmp_path: Path) -> None:
    script = fake_sendmail(tmp_path, 'cat >/dev/null; echo "queue full" >&2; exit 75')
    with pytest.raises(DeliveryError, match="exited with status 75: queue full"):
        send_sendmail(message(), str(script))


def test_missing_sendmail_says_how_to_configure_it(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match=r"not found.*\[digest\] sendmail"):
        send_sendmail(message(), str(tmp_path / "no-such-sendmail"))


def test_sendmail_is_found_outside_crons_short_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = fake_sendmail(tmp_path, "cat >/dev/null")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert sendmail_path("") == str(script)
    assert sendmail_path("/opt/msmtp/bin/sendmail") == "/opt/msmtp/bin/sendmail"
