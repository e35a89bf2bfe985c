"""Delivery: SMTP (none, STARTTLS or implicit TLS) or the local sendmail binary.

Every failure becomes one DeliveryError line that says what went wrong and where, and never
contains the password.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import parseaddr

from mentionwatch.digest.settings import SmtpSettings
from mentionwatch.errors import DeliveryError, RecipientRefusedError
from mentionwatch.text import one_line

# cron's PATH is usually /usr/bin:/bin, but sendmail lives in /usr/sbin (or /usr/lib).
_SENDMAIL_DIRS = ("/usr/sbin", "/usr/lib", "/usr/bin", "/bin")
SENDMAIL_TIMEOUT = 60.0


def send_smtp(
    message: EmailMessage, smtp: SmtpSettings, sender: str, recipients: Sequence[str]
) -> list[str]:
    """Send; returns the recipients the server refused (the others got the message)."""
    where = f"{smtp.host}:{smtp.port}"
    try:
        return _send(message, smtp, sender, recipients)
    except smtplib.SMTPAuthenticationError as exc:
        problem = f"authentication failed for user {smtp.username!r} ({_reply(exc)})"
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(f"{a} ({_reply(r)})" for a, r in exc.recipients.items())
        problem = f"every recipient was refused: {refused}"
        raise RecipientRefusedError(
            _clean(f"digest not sent: SMTP {where}: {problem}", smtp.password)
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        problem = f"sender {exc.sender!r} refused ({_reply(exc)})"
    except smtplib.SMTPNotSupportedError as exc:
        problem = _unsupported(str(exc), smtp)
    except smtplib.SMTPConnectError as exc:
        problem = f"the server turned us away ({_reply(exc)})"
    except smtplib.SMTPResponseException as exc:
        problem = f"the server refused the message ({_reply(exc)})"
    except smtplib.SMTPServerDisconnected as exc:
        # smtplib reports a read timeout as a disconnect; say what really happened.
        if isinstance(exc.__context__, TimeoutError):
            problem = _timed_out(smtp)
        else:
            problem = f"the server closed the connection (is security = {smtp.security!r} right?)"
    except ssl.SSLCertVerificationError as exc:
        problem = f"certificate not trusted: {exc.verify_message} (set ca_file for a private CA)"
    except ssl.SSLError as exc:
        problem = f"TLS failed: {exc.reason or exc} (is security = {smtp.security!r} right?)"
    except ConnectionRefusedError:
        problem = "connection refused (is the host and port right, is the server running?)"
    except socket.gaierror as exc:
        problem = f"cannot resolve the host name ({exc.strerror})"
    except TimeoutError:
        problem = _timed_out(smtp)
    except smtplib.SMTPException as exc:
        problem = str(exc)
    except OSError as exc:
        problem = exc.strerror or str(exc)
    raise DeliveryError(_clean(f"digest not sent: SMTP {where}: {problem}", smtp.password))


def _send(
    message: EmailMessage, smtp: SmtpSettings, sender: str, recipients: Sequence[str]
) -> list[str]:
    timeout = smtp.timeout.total_seconds()
    context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
    client: smtplib.SMTP
    if smtp.security == "ssl":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
    try:
        client.ehlo()
        if smtp.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if smtp.username:
            client.login(smtp.username, smtp.password)
        refused = client.send_message(
            message, parseaddr(sender)[1], [parseaddr(r)[1] for r in recipients]
        )
    except BaseException:
        client.close()
        raise
    # The server has the message now: a failing QUIT must not make us send it again.
    with contextlib.suppress(smtplib.SMTPException, OSError):
        client.quit()
    return sorted(refused)


def _timed_out(smtp: SmtpSettings) -> str:
    return (
        f"timed out after {smtp.timeout.total_seconds():g}s without an answer "
        f"(check host, port and security = {smtp.security!r})"
    )


def _reply(exc: smtplib.SMTPResponseException | tuple[int, bytes]) -> str:
    code, text = (exc.smtp_code, exc.smtp_error) if not isinstance(exc, tuple) else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return one_line(f"{code} {text}", 160)


def _unsupported(text: str, smtp: SmtpSettings) -> str:
    if "STARTTLS" in text.upper():
        return 'the server does not offer STARTTLS (use security = "ssl" or "none")'
    if "AUTH" in text.upper():
        return "the server offers no login (AUTH) on this connection; check security and port"
    return text


_BASE64_WORD = re.compile(r"[A-Za-z0-9+/]{8,}=*")


def _clean(message: str, password: str) -> str:
    """One line, and the password never, even if a server echoed it back (AUTH's base64 too)."""
    line = one_line(message)
    if not password:
        return line

    def hide(word: re.Match[str]) -> str:
        text = word.group().rstrip("=")
        try:
            decoded = base64.b64decode(text + "=" * (-len(text) % 4))
        except ValueError:
            return word.group()
        return "***" if password.encode() in decoded else word.group()

    return _BASE64_WORD.sub(hide, line).replace(password, "***")


def sendmail_path(configured: str) -> str:
    """The configured binary, else `sendmail` on PATH or in the usual system folders."""
    if configured and os.sep in configured:
        return configured
    name = configured or "sendmail"
    search = os.pathsep.join([os.environ.get("PATH", ""), *_SENDMAIL_DIRS])
    return shutil.which(name, path=search) or name


def send_sendmail(
    message: EmailMessage, configured: str, timeout: float = SENDMAIL_TIMEOUT
) -> list[str]:
    """Hand the message to `sendmail -t -oi` (recipients from the headers); it queues it."""
    binary = sendmail_path(configured)
    try:
        done = subprocess.run(
            [binary, "-t", "-oi"],
            input=message.as_bytes(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        problem = 'not found; install a mail server or set [digest] sendmail = "/path/to/sendmail"'
    except PermissionError:
        problem = "is not executable"
    except subprocess.TimeoutExpired:
        problem = f"did not finish within {timeout:g}s"
    except OSError as exc:
        problem = exc.strerror or str(exc)
    else:
        if done.returncode == 0:
            return []
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        problem = f"exited with status {done.returncode}" + (f": {said[0]}" if said else "")
    raise DeliveryError(one_line(f"digest not sent: {binary} {problem}", 300))
