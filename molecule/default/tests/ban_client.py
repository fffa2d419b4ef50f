"""Run inside a mail container (python3 - ACTION SOURCE [N]): a client bound to SOURCE
(127.0.0.2 plays the attacker, 127.0.0.1 the legitimate user) talking to 127.0.0.1.

  imap-fail SOURCE N   N IMAPS (993) logins with a wrong password, one connection each
  smtp-fail SOURCE N   N AUTH attempts on 587 (after STARTTLS) with a wrong password
  webmail-fail SOURCE N  N Roundcube logins (https://mail.example.test/ on 443) with a wrong password
  probe SOURCE         can SOURCE open a TCP connection to 993 and 587? prints JSON
  use SOURCE           alice logs in over IMAPS and sends a message on 587; prints JSON
Only loopback addresses are used: the test never leaves the container's namespace.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import imaplib
import json
import re
import smtplib
import socket
import ssl
import sys
import urllib.parse

SERVER = "127.0.0.1"
USER, PASSWORD = "alice@example.test", "alice-Secret-1"
CONTEXT = ssl.create_default_context()
CONTEXT.check_hostname = False
CONTEXT.verify_mode = ssl.CERT_NONE  # the server's self-signed certificate; nothing secret is sent


def imaps(source: str) -> imaplib.IMAP4_SSL:
    class Bound(imaplib.IMAP4_SSL):
        def _create_socket(self, timeout: float | None) -> socket.socket:
            raw = socket.create_connection((SERVER, 993), timeout, source_address=(source, 0))
            return CONTEXT.wrap_socket(raw, server_hostname="mail.example.test")

    return Bound(SERVER, 993, ssl_context=CONTEXT, timeout=20)


def submission(source: str) -> smtplib.SMTP:
    session = smtplib.SMTP(SERVER, 587, local_hostname="client.example.test", timeout=10,
                           source_address=(source, 0))
    session.starttls(context=CONTEXT)
    return session


def imap_fail(source: str, count: int) -> None:
    for _ in range(count):
        conn = imaps(source)
        try:
            conn.login(USER, "wrong-password")
        except imaplib.IMAP4.error:
            pass
        else:
            raise SystemExit("a wrong password logged in")
        conn.logout()


def smtp_fail(source: str, count: int) -> None:
    # One AUTH PLAIN per session (smtplib's login() would try LOGIN as well: two failures).
    wrong = base64.b64encode(f"\0{USER}\0wrong-password".encode()).decode()
    for _ in range(count):
        session = submission(source)
        session.ehlo("client.example.test")
        code, _ = session.docmd("AUTH", f"PLAIN {wrong}")
        if code != 535:
            raise SystemExit(f"a wrong password got {code}")
        # Postfix logs each failure at once: the last one may get the address banned
        # before QUIT is answered.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            session.quit()


def webmail_fail(source: str, count: int) -> None:
    """Roundcube's own login form: its session cookie and request token, then a wrong password."""
    for _ in range(count):
        conn = http.client.HTTPSConnection(SERVER, 443, context=CONTEXT, timeout=20, source_address=(source, 0))
        conn.request("GET", "/", headers={"Host": "mail.example.test"})
        page = conn.getresponse()
        body = page.read().decode()
        cookies = "; ".join(c.split(";", 1)[0] for c in page.headers.get_all("Set-Cookie") or [])
        found = re.search(r'name="_token" value="([^"]+)"', body)
        if found is None:
            raise SystemExit(f"no login form ({page.status})")
        form = urllib.parse.urlencode({"_token": found.group(1), "_task": "login", "_action": "login",
                                       "_timezone": "UTC", "_url": "", "_user": USER, "_pass": "wrong-password"})
        conn.request("POST", "/?_task=login", body=form, headers={
            "Host": "mail.example.test", "Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"})
        answer = conn.getresponse()
        answer.read()
        if answer.status == 302:  # a redirect into the mailbox: logged in
            raise SystemExit("a wrong password logged in to the webmail")
        conn.close()


def probe(source: str) -> dict[str, bool]:
    result = {}
    for port in (993, 587):
        try:
            socket.create_connection((SERVER, port), 5, source_address=(source, 0)).close()
            result[str(port)] = True
        except OSError:
            result[str(port)] = False
    return result


def use(source: str, subject: str) -> dict[str, str]:
    conn = imaps(source)
    login = conn.login(USER, PASSWORD)[0]
    conn.logout()
    session = submission(source)
    session.login(USER, PASSWORD)
    refused = session.sendmail(USER, ["bob@example.test"],
                               f"From: {USER}\r\nTo: bob@example.test\r\nSubject: {subject}\r\n\r\nstill here\r\n")
    session.quit()
    return {"imap": login, "smtp": "refused" if refused else "accepted"}


if __name__ == "__main__":
    action, address = sys.argv[1], sys.argv[2]
    if action == "imap-fail":
        imap_fail(address, int(sys.argv[3]))
    elif action == "smtp-fail":
        smtp_fail(address, int(sys.argv[3]))
    elif action == "webmail-fail":
        webmail_fail(address, int(sys.argv[3]))
    elif action == "probe":
        print(json.dumps(probe(address)))
    elif action == "use":
        print(json.dumps(use(address, sys.argv[3])))
    else:
        raise SystemExit(f"unknown action {action}")
