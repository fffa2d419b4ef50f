"""`mailprov check`: SRS (postsrsd) present and running, seen from outside on port 25.

Two facts a mail client can see: bounces to an SRS address of the server's name are accepted
at RCPT (only when SRS is set up: relay_recipient_maps), and a message from an outside sender
is accepted, which Postfix does only when postsrsd answers its lookup (its port-25 cleanup asks
postsrsd for every sender and defers with 4xx while postsrsd is down). Nothing leaves the
server: the message goes to the probe account's own mailbox, the SRS address is never sent to.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from provisioner.probe.session import ProbeFailed, Skip, Target
from provisioner.probe.smtp import FOREIGN_SENDER, smtp_session


def srs_address(hostname: str) -> str:
    """A well-formed SRS address of the server's name (its hash is not valid: never used)."""
    return f"SRS0=AAAA=AA=example.com=relay-test@{hostname}"


def srs_running(target: Target) -> str:
    with smtp_session(target, "smtp") as client:
        client.ehlo()
        code, msg = client.mail(FOREIGN_SENDER)
        if code >= 400:
            raise ProbeFailed(f"MAIL FROM:<{FOREIGN_SENDER}> refused ({code} {msg.decode(errors='replace')[:60]})")
        code, msg = client.rcpt(srs_address(target.hostname))
        client.rset()
        if code >= 500:
            raise Skip(f"SRS addresses refused ({code}): SRS is off (postfix_srs: false) or not deployed")
        if code >= 400:
            raise ProbeFailed(f"SRS address refused for now ({code} {msg.decode(errors='replace')[:60]})")
        if not target.login or target.creds is None:
            return f"SRS addresses accepted ({code}); postsrsd not exercised (no probe account)"
        message = EmailMessage()
        message["From"], message["To"] = FOREIGN_SENDER, target.creds.address
        message["Subject"] = "mailprov check: SRS"
        message.set_content("mailprov check: mail from outside passes postsrsd; safe to delete.\n")
        try:
            client.send_message(message)
        except smtplib.SMTPResponseException as exc:
            raise ProbeFailed(f"mail from outside refused ({exc.smtp_code}): is postsrsd running?") from exc
    return f"SRS addresses accepted; mail from outside passed postsrsd ({target.creds.address})"
