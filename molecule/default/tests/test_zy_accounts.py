"""playbooks/accounts.yml on the converged hosts: a new mailbox goes live at
once, and nothing is reloaded for it; a new domain gets its DKIM key.
Named test_zy_* to run after the mail
tests and before test_zz_safety (which checks that nothing is left changed)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import testinfra
import yaml
from conftest import PORT_BASE, SCENARIO, Server, container, play_recap, playbook

NEW_USER = "erin@other.test"
NEW_DOMAIN = "new.test"
NEW_PASSWORD = "erin-Secret-1"
# `openssl passwd -6 -salt mailprovsalt02 erin-Secret-1`
NEW_HASH = (
    "{SHA512-CRYPT}$6$mailprovsalt02$"
    "26eb5tuUGjbdy3RKTZZcz9XuD4KGsSxd/xXpVjT4oxTyf.ZFaMivsv.FXkf1m0I/aqvZPtrhCZJpqfvHeKmng0"
)


def _reloads(release: str) -> int:
    host = testinfra.get_host(f"podman://{container(release)}")
    log = host.run("journalctl --no-pager -o cat SYSLOG_IDENTIFIER=postfix/master SYSLOG_IDENTIFIER=dovecot").stdout
    return sum("reload" in line.lower() for line in log.splitlines())


@pytest.fixture(scope="module")
def accounts_added() -> Iterator[tuple[subprocess.CompletedProcess[str], dict[str, int], float]]:
    inventory = yaml.safe_load((SCENARIO / "group_vars" / "mailservers" / "accounts.yml").read_text())
    domains: list[dict[str, Any]] = inventory["mail_domains"]
    other = next(domain for domain in domains if domain["name"] == "other.test")
    other["mailboxes"].append({"address": NEW_USER, "password": NEW_HASH})
    domains.append({"name": NEW_DOMAIN, "mailboxes": [], "aliases": []})
    reloads = {release: _reloads(release) for release in PORT_BASE}
    start = time.monotonic()
    result = playbook("accounts.yml", "-e", json.dumps({"mail_domains": domains}))
    elapsed = time.monotonic() - start
    yield result, reloads, elapsed
    restored = playbook("accounts.yml")
    assert restored.returncode == 0, restored.stdout[-3000:]


def test_new_mailbox_is_live_without_reload(
    accounts_added: tuple[subprocess.CompletedProcess[str], dict[str, int], float], servers: list[Server]
) -> None:
    result, reloads, elapsed = accounts_added
    assert result.returncode == 0, result.stdout[-3000:]
    print(f"accounts.yml with one new mailbox: {elapsed:.1f} s for both hosts")
    for server in servers:
        _check_new_mailbox(server, play_recap(result.stdout)[server.container], reloads[server.release])


def _check_new_mailbox(server: Server, counters: dict[str, int], reloads_before: int) -> None:
    assert counters["changed"] >= 1
    server.host.run_expect([0], f"doveadm auth test {NEW_USER} {NEW_PASSWORD}")
    smtp = server.smtp(25)
    try:
        smtp.ehlo()
        smtp.mail("someone@external.test")
        assert smtp.rcpt(NEW_USER)[0] == 250
        assert smtp.rcpt("erin@other-alias.test")[0] == 250
    finally:
        smtp.quit()
    assert _reloads(server.release) == reloads_before, "an account change reloaded a service"
    # The new domain's key was made and rspamd signs for it (its config names the key).
    assert server.host.file(f"/var/lib/rspamd/dkim/{NEW_DOMAIN}.mail.key").mode == 0o600
    assert f'"{NEW_DOMAIN}"' in server.host.file("/etc/rspamd/local.d/dkim_signing.conf").content_string
