"""The main job, end to end, through the real `mailprov` command:

sandbox up -> deploy -> check -> deploy again (zero changes) -> user add +
deploy --tags accounts -> the new user logs in over IMAP -> backup, restore into a fresh
container and compare (backup_restore.py) -> sandbox down.

Needs root, podman and the local image (built on demand). Uses its own
container name, ports and state folder (sandbox_support), never the demo's;
refuses to touch an e2e sandbox container that already exists.
"""

from __future__ import annotations

import imaplib
import json
import os
import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import backup_restore
import pytest
from sandbox_support import e2e_environ, e2e_sandbox

from provisioner.sandbox import server as sandbox

pytestmark = pytest.mark.e2e

RELEASE = os.environ.get("MAILPROV_E2E_RELEASE", "trixie")
MAILPROV = str(Path(sys.executable).parent / "mailprov")
NEW_USER = f"newcomer@{sandbox.DEMO_DOMAIN}"


def mailprov(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAILPROV, *args], env=env, input=stdin, capture_output=True, text=True, timeout=1800, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("sandbox")
    box = e2e_sandbox(RELEASE, state)
    if sandbox.container_state(box) is not None:
        pytest.fail(f"{box.name} exists, left by an earlier e2e run (or one running now); "
                    f"remove it with: podman rm -f {box.name}")
    environ = e2e_environ(state)
    try:
        yield environ
    finally:
        mailprov(environ, "sandbox", "down", "--release", RELEASE)


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def imap_login(port: int, user: str, password: str) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the sandbox's certificate is self-signed
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=10) as client:
        client.login(user, password)
        typ, _ = client.select("INBOX")
        assert typ == "OK"


def test_main_job(env: dict[str, str]) -> None:
    up = ok(mailprov(env, "sandbox", "up", "--release", RELEASE))
    match = re.search(r"password: (\S+)", up.stdout)
    assert match, up.stdout
    demo_password = match.group(1)
    box = e2e_sandbox(RELEASE, Path(env[sandbox.STATE_ENV]))
    inv = str(box.inventory)
    status = ok(mailprov(env, "sandbox", "status", "--release", RELEASE)).stdout
    # The CLI took the e2e container and ports from the environment, not the demo's.
    assert box.name in up.stdout and f"127.0.0.1:{box.ports()['smtp']}" in status

    first = summary(ok(mailprov(env, "deploy", "-i", inv, "--json")))
    assert first["ok"] and first["changed"] > 0

    checked = summary(ok(mailprov(env, "check", "-i", inv, "--json")))
    failed = [c for c in checked["checks"] if c["status"] != "pass"]
    assert not failed, failed

    again = summary(ok(mailprov(env, "deploy", "-i", inv, "--json")))
    assert again["changed"] == 0, again

    ok(mailprov(env, "user", "add", NEW_USER, "--password-stdin", "-i", inv, stdin="n3w-pass-w0rd\n"))
    accounts = summary(ok(mailprov(env, "deploy", "-i", inv, "--tags", "accounts", "--json")))
    assert accounts["ok"] and accounts["changed"] > 0

    imap_login(box.ports()["imaps"], NEW_USER, "n3w-pass-w0rd")
    imap_login(box.ports()["imaps"], sandbox.DEMO_USER, demo_password)
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(box.ports()["imaps"], NEW_USER, "wrong-password")

    # Backup and restore (tests/e2e/backup_restore.py), on the same deployed sandbox.
    backup_restore.exercise(env, box, demo_password, mailprov, ok)

    ok(mailprov(env, "sandbox", "down", "--release", RELEASE))
    assert sandbox.container_state(box) is None
    assert (box.inventory / "hosts.yml").exists()  # down removes the container and nothing else
