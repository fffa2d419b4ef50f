"""A mail provider's submission server for the relay test, in its own container that shares
the trixie mail server's network namespace (`--network container:...`): the mail server
relays to 127.0.0.1:2465 and no container address is ever contacted.

Postfix with TLS from the first byte (self-signed), Cyrus SASL (sasldb) and AUTH required
before anything is accepted; accepted mail lands in one Maildir, read back with podman exec."""

from __future__ import annotations

import os
import subprocess
import time

NAME = os.environ.get("MAILPROV_MOLECULE_PREFIX", "mailprov-molecule") + "-relay"
PORT = 2465
MAILDIR = "/var/mail/sink/sink/new"
_IMAGE = "localhost/mailprov-debian:trixie"

_SETUP = f"""set -eu
# Nothing may start while packages install: port 25 belongs to the mail server.
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \\
  postfix sasl2-bin libsasl2-modules ssl-cert >/dev/null
rm /usr/sbin/policy-rc.d
postconf -e myhostname=relay.provider.test inet_interfaces=127.0.0.1 mydestination= \\
  virtual_mailbox_domains=external.test virtual_mailbox_base=/var/mail/sink \\
  virtual_mailbox_maps=static:sink/ virtual_uid_maps=static:5000 virtual_gid_maps=static:5000 \\
  smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem \\
  smtpd_tls_key_file=/etc/ssl/private/ssl-cert-snakeoil.key \\
  smtpd_tls_wrappermode=yes smtpd_tls_security_level=encrypt smtpd_tls_auth_only=yes \\
  smtpd_tls_received_header=yes smtpd_sasl_auth_enable=yes smtpd_sasl_type=cyrus smtpd_sasl_path=smtpd \\
  smtpd_sasl_security_options=noanonymous 'smtpd_relay_restrictions=permit_sasl_authenticated, reject' \\
  'smtpd_recipient_restrictions=permit_sasl_authenticated, reject' mynetworks=
postconf -M# smtp/inet
postconf -M '127.0.0.1:{PORT}/inet=127.0.0.1:{PORT} inet n - n - - smtpd'
mkdir -p /etc/postfix/sasl /var/mail/sink
chown 5000:5000 /var/mail/sink
printf 'pwcheck_method: auxprop\\nauxprop_plugin: sasldb\\nmech_list: PLAIN LOGIN\\n' > /etc/postfix/sasl/smtpd.conf
"""


def _podman(*args: str, stdin: str | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False)  # fmt: skip


def _exec(script: str, stdin: str | None = None, timeout: int = 600) -> str:
    result = _podman("exec", "-i", NAME, "sh", "-c", script, stdin=stdin, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def start(mail_server: str, username: str, password: str) -> None:
    """The provider, up and requiring `username`/`password` (given on stdin, never in argv)."""
    remove()
    started = _podman(
        "run", "-d", "--name", NAME, "--runtime=runc", "--ulimit", "nofile=20000:20000",
        "--ulimit", "nproc=32768:32768", f"--network=container:{mail_server}", _IMAGE, "/sbin/init",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 120
    while _podman("exec", NAME, "systemctl", "is-system-running", "--wait", timeout=130).stdout.strip() not in (
        "running", "degraded",
    ):  # fmt: skip
        assert time.monotonic() < deadline, "the provider container did not boot"
        time.sleep(1)
    _exec(_SETUP)
    user, _, realm = username.partition("@")
    _exec(f"saslpasswd2 -p -c -u {realm} {user}", stdin=password)
    _exec("chown root:postfix /etc/sasldb2 && chmod 0640 /etc/sasldb2 && systemctl restart postfix")
    _exec(f"timeout 60 sh -c 'until ss -lnt | grep -q 127.0.0.1:{PORT}; do sleep 0.5; done'")


def received(token: str, wait: float = 90) -> bytes | None:
    """The message that arrived with `token` in it."""
    deadline = time.monotonic() + wait
    while True:
        found = _podman("exec", NAME, "sh", "-c", f"grep -rl -- '{token}' {MAILDIR} 2>/dev/null | head -1")
        path = found.stdout.strip()
        if path:
            return subprocess.run(["podman", "exec", NAME, "cat", path], capture_output=True, check=True,
                                  timeout=60).stdout  # fmt: skip
        if time.monotonic() > deadline:
            return None
        time.sleep(1)


def remove() -> None:
    _podman("rm", "-f", "-t", "0", NAME, timeout=120)
