"""Per-user sending limits (rspamd ratelimit keyed by the SMTP-authenticated user) on both
releases: quota@example.test has sending_limit: 20 in the scenario's accounts.yml. It sends
30 messages: exactly 20 are accepted, the other 10 get a 4xx that says why, rspamd's log
names the user, and another user sends on unaffected."""

from __future__ import annotations

import smtplib

import pytest
from conftest import Server, make_message, token

LIMITED, LIMIT, SENT = "quota@example.test", 20, 30
OTHER = "bob@example.test"
RECIPIENT = "dave@other.test"


@pytest.fixture(autouse=True)
def empty_buckets(server: Server) -> None:
    """The buckets live in Redis for an hour: start from empty ones (an earlier run's count)."""
    server.host.run_expect([0], "redis-cli --scan --pattern 'RL*' | xargs -r redis-cli del")


def send(server: Server, user: str, label: str) -> tuple[int, str]:
    """One message in its own session on 587: (250, '') or the refusal's code and text."""
    with server.submission(587, user) as session:
        try:
            session.send_message(make_message(user, [RECIPIENT], token(label)))
        except smtplib.SMTPResponseException as err:
            return err.smtp_code, err.smtp_error.decode(errors="replace")
        except smtplib.SMTPRecipientsRefused as err:
            code, text = next(iter(err.recipients.values()))
            return code, text.decode(errors="replace")
    return 250, ""


def test_ratelimit_is_configured(server: Server) -> None:
    dump = server.host.check_output("rspamadm configdump ratelimit")
    assert 'selector = "user.lower.not_in(' in dump
    assert "burst = 100;" in dump  # mail_sending_limit
    assert "burst = 20;" in dump and "user.lower.in('quota@example.test')" in dump


def test_over_the_limit_gets_4xx_and_others_are_unaffected(server: Server) -> None:
    since = server.host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    results = [send(server, LIMITED, "ratelimit") for _ in range(SENT)]
    accepted = [r for r in results if r[0] == 250]
    refused = [r for r in results if r[0] != 250]
    assert len(accepted) == LIMIT, results
    assert results[:LIMIT] == [(250, "")] * LIMIT
    assert len(refused) == SENT - LIMIT
    for code, text in refused:
        assert 400 <= code < 500, (code, text)
        assert "Sending limit reached" in text, text
    # Another user is not affected.
    assert send(server, OTHER, "ratelimit-other") == (250, "")
    # rspamd's log names the user whose limit was reached.
    log = server.host.check_output(f"journalctl -u rspamd --since '{since}' --no-pager")
    assert "ratelimit" in log.lower() and LIMITED in log, log[-2000:]
