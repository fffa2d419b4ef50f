"""Runs the playbooks again on the converged hosts: --check --diff, and a
deliberately broken configuration that must fail and leave the servers
answering with their old configuration. Named test_zz_* to run last."""

from __future__ import annotations

import json
import smtplib
import socket
import subprocess

import pytest
from conftest import LOCALHOST, TIMEOUT, Server, play_recap, playbook


def _answers(server: Server, port: int) -> bool:
    """The service on `port` greets a client (TLS first on 465/993/995)."""
    if port == 25:
        smtp = smtplib.SMTP(LOCALHOST, server.port(25), local_hostname="client.example.test", timeout=TIMEOUT)
        code, _ = smtp.ehlo()
        smtp.quit()
        return code == 250
    with socket.create_connection((LOCALHOST, server.port(port)), timeout=TIMEOUT) as raw:
        sock = server.tls.wrap_socket(raw) if port in (465, 993, 995) else raw
        greeting = sock.recv(512)
    expected = {
        587: b"220 ",
        465: b"220 ",
        143: b"* OK",
        993: b"* OK",
        110: b"+OK",
        995: b"+OK",
        4190: b'"IMPLEMENTATION"',
    }
    return greeting.startswith(expected[port]) or expected[port] in greeting


@pytest.fixture(scope="module")
def check_run() -> subprocess.CompletedProcess[str]:
    return playbook("site.yml", "--check", "--diff")


def test_check_diff_on_converged_hosts_changes_nothing(check_run: subprocess.CompletedProcess[str]) -> None:
    assert check_run.returncode == 0, check_run.stdout[-4000:] + check_run.stderr[-2000:]
    recap = play_recap(check_run.stdout)
    assert len(recap) == 2, check_run.stdout[-2000:]
    for name, counters in recap.items():
        assert counters["changed"] == 0, f"{name}: {counters}\n{check_run.stdout[-4000:]}"
        assert counters["failed"] == 0


BROKEN = [
    pytest.param(
        (
            "postfix",
            {"postfix_extra_config": {"defer_transports": "smtp", "message_size_limit": "not-a-number"}},
            "/etc/postfix/main.cf",
            "not-a-number",
        ),
        id="postfix",
    ),
    pytest.param(
        (
            "dovecot",
            {"dovecot_extra_config": {"mailprov_no_such_setting": "yes"}},
            "/etc/dovecot/dovecot.conf",
            "mailprov_no_such_setting",
        ),
        id="dovecot",
    ),
]


@pytest.fixture(scope="module", params=BROKEN)
def broken_run(request: pytest.FixtureRequest) -> tuple[subprocess.CompletedProcess[str], str, str]:
    tag, extra, path, marker = request.param
    result = playbook("site.yml", "--tags", tag, "-e", json.dumps(extra))
    return result, path, marker


def test_broken_configuration_fails_and_servers_keep_answering(
    broken_run: tuple[subprocess.CompletedProcess[str], str, str], servers: list[Server]
) -> None:
    result, path, marker = broken_run
    assert result.returncode != 0, result.stdout[-3000:]
    recap = play_recap(result.stdout)
    for server in servers:
        _check_unharmed(server, recap, path, marker)


def _check_unharmed(server: Server, recap: dict[str, dict[str, int]], path: str, marker: str) -> None:
    assert recap[server.container]["failed"] >= 1
    # The broken text never reached the live file ...
    assert marker not in server.host.file(path).content_string
    server.host.run_expect([0], "postfix check")
    server.host.run_expect([0], "doveconf -n")
    # ... and every service still answers.
    for port in (25, 587, 465, 143, 993, 110, 995, 4190):
        assert _answers(server, port), f"port {port} does not answer"
