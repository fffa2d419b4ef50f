"""Playbook re-runs on one platform each, both platforms at the same time:
trixie converges with `mail_tls: {mode: files}` (paths relative to the
inventory folder) and a relay for some sender domains with implicit TLS;
bookworm is given a key that does not match its certificate and a
certificate for another name (both refused before anything goes live), then
a relay for all mail. The last test restores the inventory's state
(selfsigned, no relay). Named test_zx_* to run before test_zy/test_zz.

trixie's relay is real: a provider's server (relay_provider.py) shares its
network namespace and listens on 127.0.0.1:2465, so mail from example.test
really goes out through it, authenticated and DKIM-signed. Nothing else is
sent anywhere (direct delivery stays deferred; bookworm's relay is only
rendered and read back)."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dkim
import pytest
import relay_provider
import testinfra
from conftest import (
    HOSTNAME,
    LOCALHOST,
    PORT_BASE,
    Server,
    _inventory,
    _server,
    container,
    dkim_dnsfunc,
    mailprov_dns,
    make_message,
    play_recap,
    playbook,
    token,
)

TRIXIE = container("trixie")
BOOKWORM = container("bookworm")
RELAY_USER = "relay-user@example.test"
RELAY_PASSWORD = "relay-Secret-1"  # a test value; must never show in the output
# Tests never send mail anywhere: the relay transports stay deferred too.
DEFER = {"postfix_extra_config": {"defer_transports": "smtp relaysmtps"}}
# trixie's relay leads to the provider's container: only direct delivery waits.
DEFER_DIRECT = {"postfix_extra_config": {"defer_transports": "smtp"}}
RELAY_SOME = {
    "provider": "fastmail",
    "host": "127.0.0.1",
    "port": 2465,
    "tls": "implicit",
    "username": RELAY_USER,
    "password": RELAY_PASSWORD,
    "sender_domains": ["example.test", "alias.test"],
}
ROTATED = {"mail_dkim": {"selector": "mail2"}}
# Port 465 without `tls`: implicit TLS.
RELAY_ALL = {"host": "127.0.0.1", "port": 465, "username": RELAY_USER, "password": RELAY_PASSWORD}


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)


def _make_pairs(folder: Path) -> None:
    """A CA-issued certificate for the host, a stray key, a certificate for another name."""
    folder.mkdir(parents=True, exist_ok=True)
    days = ["-days", "2"]
    _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-subj", "/CN=mailprov test CA", *days)  # fmt: skip
    _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "good.key", "-out", "good.csr",
             "-subj", f"/CN={HOSTNAME}")  # fmt: skip
    (folder / "san.ext").write_text(f"subjectAltName=DNS:{HOSTNAME}\n")
    _openssl(folder, "x509", "-req", "-in", "good.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "good.crt", "-extfile", "san.ext", *days)  # fmt: skip
    _openssl(folder, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "stray.key")
    _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.crt",
             "-subj", "/CN=other.example.test", "-addext", "subjectAltName=DNS:other.example.test", *days)  # fmt: skip


def _files(cert: str, key: str) -> dict[str, Any]:
    # Relative to the inventory folder, as operators write them.
    return {"mail_tls": {"mode": "files", "cert_file": f"tls-test/{cert}", "key_file": f"tls-test/{key}"}}


def _run(limit: str, *args: str, extra: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    extra_args = ["-e", json.dumps(extra)] if extra else []
    return playbook("site.yml", "-l", limit, *args, *extra_args)


def _served_cert(release: str, port: int) -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((LOCALHOST, PORT_BASE[release] + port), timeout=30) as raw,
        context.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def _der(pem: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem)


def _host(container: str) -> testinfra.host.Host:
    return testinfra.get_host(f"podman://{container}")


def _bookworm_runs(folder: Path) -> dict[str, Any]:
    host = _host(BOOKWORM)
    before = host.file(f"/etc/mailprov/tls/{HOSTNAME}.crt").content_string
    stray = _run(BOOKWORM, "--tags", "base", extra=_files("good.crt", "stray.key"))
    after_stray = host.file(f"/etc/mailprov/tls/{HOSTNAME}.crt").content_string
    served_stray = _served_cert("bookworm", 993)
    other = _run(BOOKWORM, "--tags", "base", extra=_files("other.crt", "other.key"))
    after_other = host.file(f"/etc/mailprov/tls/{HOSTNAME}.crt").content_string
    # The DKIM key rotation rides along (a new selector: new keys, signing switches).
    relay = _run(BOOKWORM, "--tags", "postfix,rspamd", extra={**DEFER, "mail_relay": RELAY_ALL, **ROTATED})
    return {
        "before": before,
        "stray": (stray, after_stray, served_stray),
        "other": (other, after_other),
        "relay": relay,
    }


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Any]]:
    folder = Path(_inventory()) / "tls-test"
    _make_pairs(folder)
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            provider = pool.submit(relay_provider.start, TRIXIE, RELAY_USER, RELAY_PASSWORD)
            trixie = pool.submit(
                _run, TRIXIE, extra={**_files("good.crt", "good.key"), **DEFER_DIRECT, "mail_relay": RELAY_SOME}
            )
            bookworm = pool.submit(_bookworm_runs, folder)
            result = {"trixie": trixie.result(), **bookworm.result(), "folder": folder}
            provider.result()
        yield result
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        relay_provider.remove()


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert RELAY_PASSWORD not in result.stdout + result.stderr


def test_files_mode_installs_the_operators_certificate(runs: dict[str, Any]) -> None:
    _ok(runs["trixie"])
    good = (runs["folder"] / "good.crt").read_text()
    host = _host(TRIXIE)
    assert _der(host.file(f"/etc/mailprov/tls/{HOSTNAME}.crt").content_string) == _der(good)
    assert host.file(f"/etc/mailprov/tls/{HOSTNAME}.key").mode == 0o600
    # Dovecot and Postfix were reloaded with it.
    assert _served_cert("trixie", 993) == _der(good)
    assert _served_cert("trixie", 465) == _der(good)


@pytest.mark.parametrize(
    ("case", "message"),
    [("stray", "does not belong to cert_file"), ("other", f"does not name {HOSTNAME}")],
)
def test_bad_pair_fails_before_anything_goes_live(runs: dict[str, Any], case: str, message: str) -> None:
    result, live_after = runs[case][0], runs[case][1]
    assert result.returncode != 0, result.stdout[-3000:]
    assert play_recap(result.stdout)[BOOKWORM]["failed"] >= 1
    assert message in result.stdout, result.stdout[-3000:]
    assert live_after == runs["before"]  # the live certificate was not replaced
    if case == "stray":
        assert runs[case][2] == _der(runs["before"])  # and the old one is still served
    assert not any(name.startswith("mailprov-tls.") for name in _host(BOOKWORM).check_output("ls /tmp").split())


def _postconf(host: testinfra.host.Host) -> Callable[[str], str]:
    return lambda name: str(host.check_output(f"postconf -h {name}"))


def test_relay_for_some_sender_domains_with_implicit_tls(runs: dict[str, Any]) -> None:
    _ok(runs["trixie"])
    host = _host(TRIXIE)
    get = _postconf(host)
    nexthop = "[127.0.0.1]:2465"
    assert get("relayhost") == ""
    assert get("smtp_tls_security_level") == "dane"  # direct delivery: DANE, else opportunistic
    assert get("smtp_sender_dependent_authentication") == "yes"
    assert get("sender_dependent_relayhost_maps") == "hash:/etc/postfix/relay_senders"
    # The relay's own policy first, then MTA-STS for direct delivery (docs/outbound-tls.md).
    assert get("smtp_tls_policy_maps") == "hash:/etc/postfix/relay_tls_policy, socketmap:inet:127.0.0.1:8461:postfix"
    assert get("sender_dependent_default_transport_maps") == "hash:/etc/postfix/relay_transports"
    assert "smtp_tls_wrappermode = yes" not in host.check_output("postconf -n")
    for domain in ("example.test", "alias.test"):
        assert host.check_output(f"postmap -q @{domain} hash:/etc/postfix/relay_senders") == nexthop
        assert host.check_output(f"postmap -q @{domain} hash:/etc/postfix/relay_transports") == "relaysmtps"
    host.run_expect([1], "postmap -q @other.test hash:/etc/postfix/relay_senders")
    assert host.check_output(f"postmap -q '{nexthop}' hash:/etc/postfix/relay_tls_policy") == "encrypt"
    assert host.check_output("postconf -P relaysmtps/unix/smtp_tls_wrappermode").endswith("= yes")
    assert host.check_output("postconf -P relaysmtps/unix/smtp_tls_security_level").endswith("= encrypt")
    _check_credentials(host, nexthop)


def test_relayed_mail_arrives_authenticated_and_signed(runs: dict[str, Any]) -> None:
    """alice@example.test writes to an outside address: the provider gets it over TLS, after
    AUTH as the relay user, with a DKIM signature that verifies against `mailprov dns`."""
    _ok(runs["trixie"])
    # The server now presents the test CA's certificate (files mode above).
    context = ssl.create_default_context(cafile=str(runs["folder"] / "ca.crt"))
    context.check_hostname = False
    server = Server(release="trixie", container=TRIXIE, port_base=PORT_BASE["trixie"], host=_host(TRIXIE), tls=context)
    tag = token("relayed")
    msg = make_message("alice@example.test", ["someone@external.test"], tag)
    with server.submission(587, "alice@example.test") as session:
        session.send_message(msg)
    arrived = relay_provider.received(tag)
    assert arrived is not None, "the message did not reach the provider"
    headers = arrived.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    assert b"with ESMTPSA" in headers  # authenticated submission (RFC 3848)
    assert b"mail.example.test" in headers
    assert dkim.verify(arrived, dnsfunc=dkim_dnsfunc(mailprov_dns(TRIXIE)))


def test_relay_for_all_mail_on_465_is_implicit_tls(runs: dict[str, Any]) -> None:
    _ok(runs["relay"])
    host = _host(BOOKWORM)
    get = _postconf(host)
    assert get("relayhost") == "[127.0.0.1]:465"
    assert get("smtp_tls_wrappermode") == "yes"
    assert get("smtp_tls_security_level") == "encrypt"
    assert get("sender_dependent_relayhost_maps") == ""
    assert get("smtp_tls_policy_maps") == ""  # all mail goes to the relay with encrypt: no MTA-STS lookups
    assert "relaysmtps" not in host.check_output("postconf -M")
    _check_credentials(host, "[127.0.0.1]:465")


def test_a_new_dkim_selector_rotates_the_keys(runs: dict[str, Any]) -> None:
    """New keys under the new selector, signing switches to them, the old key files stay."""
    _ok(runs["relay"])
    host = _host(BOOKWORM)
    assert host.file("/var/lib/rspamd/dkim/example.test.mail2.key").mode == 0o600
    assert host.file("/var/lib/rspamd/dkim/example.test.mail.key").exists
    assert 'selector = "mail2";' in host.file("/etc/rspamd/local.d/dkim_signing.conf").content_string
    server = _server("bookworm")
    tag = token("rotated")
    msg = make_message("alice@example.test", ["bob@example.test"], tag)
    with server.submission(587, "alice@example.test") as session:
        session.send_message(msg)
    delivered = server.imap_fetch("bob@example.test", tag)
    assert delivered is not None
    assert b"s=mail2;" in delivered
    assert dkim.verify(delivered, dnsfunc=dkim_dnsfunc(mailprov_dns(BOOKWORM, "--selector", "mail2")))
    # The record of the old selector (the inventory's, `mail`) is another key.
    assert not dkim.verify(delivered, dnsfunc=dkim_dnsfunc(mailprov_dns(BOOKWORM)))


def _check_credentials(host: testinfra.host.Host, nexthop: str) -> None:
    assert host.check_output("postconf -h smtp_sasl_auth_enable") == "yes"
    assert (
        host.check_output(f"postmap -q '{nexthop}' hash:/etc/postfix/sasl_passwd") == f"{RELAY_USER}:{RELAY_PASSWORD}"
    )
    secret = host.file("/etc/postfix/sasl_passwd")
    assert secret.mode == 0o600
    assert secret.user == "root"


def test_restore_inventory_state(runs: dict[str, Any]) -> None:
    """selfsigned again (a new self-signed certificate replaces the operator's) and no relay."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        # webmail too: Roundcube trusts the system CAs under `files`, the own certificate when self-signed
        trixie = pool.submit(_run, TRIXIE, "--tags", "base,postfix,webmail")
        bookworm = pool.submit(_run, BOOKWORM, "--tags", "postfix,rspamd")
        restored = {TRIXIE: trixie.result(), BOOKWORM: bookworm.result()}
    for result in restored.values():
        assert result.returncode == 0, result.stdout[-4000:]
    good = (runs["folder"] / "good.crt").read_text()
    host = _host(TRIXIE)
    pem = host.file(f"/etc/mailprov/tls/{HOSTNAME}.crt").content_string
    assert _der(pem) != _der(good)
    subject = host.check_output(f"openssl x509 -in /etc/mailprov/tls/{HOSTNAME}.crt -noout -subject")
    issuer = host.check_output(f"openssl x509 -in /etc/mailprov/tls/{HOSTNAME}.crt -noout -issuer")
    assert subject.split("=", 1)[1] == issuer.split("=", 1)[1]  # self-signed
    assert _served_cert("trixie", 993) == _der(pem)
    for name in (TRIXIE, BOOKWORM):
        relay_host = _host(name)
        assert relay_host.check_output("postconf -h relayhost") == ""
        assert not relay_host.file("/etc/postfix/sasl_passwd").exists
        assert not relay_host.file("/etc/postfix/relay_senders").exists
    dkim_signing = _host(BOOKWORM).file("/etc/rspamd/local.d/dkim_signing.conf").content_string
    assert 'selector = "mail";' in dkim_signing
