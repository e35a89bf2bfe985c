"""Real SMTP servers on 127.0.0.1 for the digest tests: plain, STARTTLS, implicit TLS, AUTH,
and two broken ones (nothing listening; listening but never answering)."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "digest-bot", "s3cret-Pa55"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps every accepted message."""

    messages: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    # Addresses RCPT TO refuses with 550, as a server does for an unknown mailbox.
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        if session.auth_data is not None:
            self.logins.append(session.auth_data.login.decode())
        return "250 Message accepted for delivery"


@dataclass
class Server:
    port: int
    inbox: Inbox
    ca_file: Path | None = None


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == USER
        and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def smtp_server(tmp_path: Path, *, security: str = "none", auth: bool = False) -> Iterator[Server]:
    """A live aiosmtpd server; TLS with a throwaway CA whose certificate lands in `ca.pem`."""
    inbox = Inbox()
    port = free_port()
    kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": port}
    ca_file = None
    if security in ("starttls", "ssl"):
        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        if security == "ssl":
            kwargs["ssl_context"] = context
        else:
            kwargs.update(tls_context=context, require_starttls=True)
    if auth:
        kwargs.update(
            authenticator=_authenticate,
            auth_required=True,
            # Plain AUTH is allowed on loopback only, as mentionwatch itself allows it.
            auth_require_tls=security == "starttls",
        )
    controller = Controller(inbox, **kwargs)
    controller.start()
    try:
        yield Server(port, inbox, ca_file)
    finally:
        controller.stop()


@contextmanager
def silent_server() -> Iterator[int]:
    """Accepts connections (the kernel does) but never says a word: a hung mail server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]
