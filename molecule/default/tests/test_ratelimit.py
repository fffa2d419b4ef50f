"""Per-user sending limits (rspamd ratelimit keyed by the SMTP-authenticated user) on both
releases: quota@example.test has sending_limit: 20 in the scenario's accounts.yml. It sends
30 messages in one session on 587: exactly 20 are accepted, the other 10 get a 4xx that says
why, rspamd's log names the user, and another user sends on unaffected.

rspamd's lookups go to the DNS stub of test_rspamd.py, started here with no records (an
instant NXDOMAIN for every name): without it each message waits for DNS timeouts, and the
bucket (a leaky one, 20 an hour) would leak while the test runs."""

from __future__ import annotations

import smtplib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Server, make_message, token

LIMITED, LIMIT, SENT = "quota@example.test", 20, 30
OTHER = "bob@example.test"
RECIPIENT = "dave@other.test"
STUB = Path(__file__).with_name("mailprov_dns_stub.py")
STUB_UNIT, STUB_PORT = "mailprov-test-dns-ratelimit", 5300
SAYS = "Sending limit reached"


@pytest.fixture(scope="module")
def dns_stub(server: Server) -> Iterator[None]:
    subprocess.run(["podman", "cp", str(STUB), f"{server.container}:/run/{STUB_UNIT}.py"], check=True, timeout=60)
    server.host.run_expect([0], f"echo '[]' > /run/{STUB_UNIT}.json")
    server.host.run_expect([0], f"systemd-run --unit={STUB_UNIT} --collect python3 /run/{STUB_UNIT}.py "
                                f"/run/{STUB_UNIT}.json {STUB_PORT}")
    try:
        wait = f"until ss -lnu | grep -q 127.0.0.1:{STUB_PORT}; do sleep 0.2; done"
        server.host.run_expect([0], f"timeout 30 sh -c '{wait}'")
        yield
    finally:
        server.host.run(f"systemctl stop {STUB_UNIT}")


@pytest.fixture(autouse=True)
def empty_buckets(server: Server) -> None:
    """The buckets live in Redis for an hour: start from empty ones (an earlier run's count)."""
    server.host.run_expect([0], "redis-cli --scan --pattern 'RL*' | xargs -r redis-cli del")


def send_all(server: Server, user: str, count: int, label: str) -> list[tuple[int, str]]:
    """`count` messages in one session on 587: (250, '') or the refusal's code and text each."""
    results = []
    with server.submission(587, user) as session:
        for _ in range(count):
            try:
                session.send_message(make_message(user, [RECIPIENT], token(label)))
                results.append((250, ""))
            except smtplib.SMTPResponseException as err:
                results.append((err.smtp_code, err.smtp_error.decode(errors="replace")))
                session.rset()
    return results


def test_ratelimit_is_configured(server: Server) -> None:
    dump = server.host.check_output("rspamadm configdump ratelimit")
    assert 'selector = "user.lower.not_in(' in dump
    assert "burst = 100;" in dump  # mail_sending_limit
    assert "burst = 20;" in dump and "user.lower.in('quota@example.test')" in dump


def test_over_the_limit_gets_4xx_and_others_are_unaffected(server: Server, dns_stub: None) -> None:
    lines_before = int(server.host.check_output("wc -l < /var/log/rspamd/rspamd.log"))
    results = send_all(server, LIMITED, SENT, "ratelimit")
    assert results[:LIMIT] == [(250, "")] * LIMIT, results
    refused = results[LIMIT:]
    assert len(refused) == SENT - LIMIT
    for code, text in refused:
        assert code == 451 and text.startswith(f"4.7.1 {SAYS}"), (code, text)
    # Another user is not affected.
    assert send_all(server, OTHER, 1, "ratelimit-other") == [(250, "")]
    # rspamd's log names the user whose limit was reached.
    log = server.host.check_output(f"tail -n +{lines_before + 1} /var/log/rspamd/rspamd.log")
    limited = [line for line in log.splitlines() if "rspamd_task_write_log" in line and SAYS in line]
    assert len(limited) == SENT - LIMIT, log[-3000:]
    assert all(f"user: {LIMITED}," in line and "forced: soft reject" in line for line in limited), limited
