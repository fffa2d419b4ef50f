"""ACME certificates from a real CA, and the web face (nginx) of the converged servers.

Both releases at the same time, each with its own pebble (acme_ca.py) in its network
namespace. Each flow: deploy with `mail_tls: {mode: acme}` (issuance, then a second deploy
that changes nothing), a forced renewal by certbot while an IMAP session stays open and a
message goes through (a new serial, the same key: TLSA 3 1 1 stays valid), a change of CA
(the same pebble under another name: issued once, same key, the old account forgotten), a
deploy with a name pebble cannot validate (refused, the current certificate keeps serving),
and the documents nginx serves (Apple profile included). The last test restores the
inventory's state (selfsigned). Named test_zw_* to run before test_zx/test_zy/test_zz."""

from __future__ import annotations

import contextlib
import imaplib
import json
import plistlib
import re
import shutil
import socket
import ssl
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import testinfra
import yaml
from acme_ca import CA, DIRECTORY
from conftest import (
    HOSTNAME,
    LOCALHOST,
    PASSWORDS,
    PORT_BASE,
    SCENARIO,
    TIMEOUT,
    _inventory,
    container,
    make_message,
    play_recap,
    playbook,
    token,
)
from cryptography import x509

from provisioner.dns.tlsa import tlsa_311

CONTAINERS = {release: container(release) for release in PORT_BASE}
# The scenario's hosted domains (IDN ones as their A-label, as certbot asks for them).
ACCOUNTS_FILE = SCENARIO / "group_vars" / "mailservers" / "accounts.yml"
DOMAINS = [domain["name"] for domain in yaml.safe_load(ACCOUNTS_FILE.read_text(encoding="utf-8"))["mail_domains"]]
NAMES = [HOSTNAME] + [f"{prefix}.{d}" for d in DOMAINS for prefix in ("mta-sts", "autoconfig")]
UNRESOLVABLE = "unresolvable.example.test"
# The same pebble under another name: to certbot, another CA (its own accounts).
MOVED_DIRECTORY = DIRECTORY.replace("127.0.0.1", "localhost")
ACCOUNTS = "find /etc/letsencrypt/accounts -name regr.json"
# Mail and web ports (container side); 25 and 587 need STARTTLS first.
TLS_PORTS = [25, 587, 465, 993, 995, 443]
UNITS = ["postfix@-.service", "dovecot.service", "nginx.service"]
# webmail too: Roundcube's TLS checks of IMAP/submission trust what the TLS mode serves
# (the system CAs under acme, the server's own certificate when self-signed).
TAGS = ("--tags", "base,webmail,web,acme")


def _acme(release: str, **more: Any) -> dict[str, Any]:
    tls = {"mode": "acme", "email": "postmaster@example.test", "server": DIRECTORY,
           "ca_file": f"acme-test/{release}-ca.pem", **more}  # fmt: skip
    return {"mail_tls": tls}


def _run(release: str, *args: str, extra: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    extra_args = ["-e", json.dumps(extra)] if extra else []
    return playbook("site.yml", "-l", CONTAINERS[release], *args, *extra_args)


def _host(release: str) -> testinfra.host.Host:
    return testinfra.get_host(f"podman://{CONTAINERS[release]}")


def _read_reply(file: Any) -> bytes:
    """One SMTP reply (all its lines)."""
    while True:
        line = file.readline()
        if not line or line[3:4] != b"-":
            return bytes(line)


def handshake(release: str, port: int, context: ssl.SSLContext, name: str = HOSTNAME) -> bytes:
    """The certificate served on `port` (STARTTLS first on 25/587), verified by `context` for `name`."""
    raw = socket.create_connection((LOCALHOST, PORT_BASE[release] + port), timeout=TIMEOUT)
    with contextlib.closing(raw):
        if port in (25, 587):
            file = raw.makefile("rb")
            _read_reply(file)
            raw.sendall(b"EHLO client.example.test\r\n")
            _read_reply(file)
            raw.sendall(b"STARTTLS\r\n")
            assert _read_reply(file).startswith(b"220")
        with context.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
            assert der is not None
            return der


def served(release: str, context: ssl.SSLContext) -> dict[int, bytes | str]:
    """Each TLS port's certificate (DER), or why it did not verify."""
    found: dict[int, bytes | str] = {}
    for port in TLS_PORTS:
        try:
            found[port] = handshake(release, port, context)
        except (ssl.SSLError, OSError, AssertionError) as err:
            found[port] = f"{type(err).__name__}: {err}"
    return found


def https(release: str, context: ssl.SSLContext, name: str, method: str, path: str,
          body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """One HTTP/1.1 request to port 443 (SNI and Host `name`); status, headers, body."""
    raw = socket.create_connection((LOCALHOST, PORT_BASE[release] + 443), timeout=TIMEOUT)
    with context.wrap_socket(raw, server_hostname=name) as tls:
        return _http(tls, name, method, path, body, headers)


def http(release: str, name: str, path: str) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection((LOCALHOST, PORT_BASE[release] + 80), timeout=TIMEOUT) as raw:
        return _http(raw, name, "GET", path, b"", None)


def _http(sock: socket.socket, name: str, method: str, path: str, body: bytes,
          headers: dict[str, str] | None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    lines = [f"{method} {path} HTTP/1.1", f"Host: {name}", "Connection: close", f"Content-Length: {len(body)}"]
    lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, content = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    if parsed.get("transfer-encoding") == "chunked":
        content = _unchunk(content)
    return int(status_line.split()[1]), parsed, content


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def _units(host: testinfra.host.Host) -> dict[str, str]:
    return {unit: host.check_output(f"systemctl show -p MainPID -p ActiveEnterTimestamp {unit}") for unit in UNITS}


def _flow(release: str, folder: Path) -> dict[str, Any]:
    """Everything one release goes through; what was seen, for the tests below."""
    ca = CA(CONTAINERS[release])
    ca.start(NAMES)
    (folder / f"{release}-ca.pem").write_text(ca.https_ca(), encoding="utf-8")
    host = _host(release)
    # A new pebble knows no accounts: forget any an interrupted earlier run left behind.
    host.run("rm -rf /etc/letsencrypt/accounts")
    seen: dict[str, Any] = {}
    seen["issue"] = _run(release, *TAGS, extra=_acme(release))
    root = ca.root()
    context = ssl.create_default_context(cadata=root)
    seen["context"] = context
    seen["issued"] = served(release, context)
    seen["again"] = _run(release, *TAGS, extra=_acme(release))
    seen["after_again"] = served(release, context)
    seen["lineage_names"] = host.check_output(
        "openssl x509 -in /etc/letsencrypt/live/mailprov/cert.pem -noout -ext subjectAltName"
    )
    seen["renewal_conf"] = host.check_output("cat /etc/letsencrypt/renewal/mailprov.conf")
    seen["web"] = _web(release, context)

    # Forced renewal by certbot itself while an IMAP session stays open and a message goes through.
    units_before = _units(host)
    tag = token("renewal")
    imap = imaplib.IMAP4_SSL(LOCALHOST, PORT_BASE[release] + 993, ssl_context=_relaxed(context), timeout=TIMEOUT)
    imap.login("alice@example.test", PASSWORDS["alice@example.test"])
    imap.select("INBOX")
    renewal: dict[str, Any] = {}

    def renew() -> None:
        renewal["result"] = host.run(
            "REQUESTS_CA_BUNDLE=/etc/mailprov/acme/ca.pem certbot renew --force-renewal --no-random-sleep-on-renew"
        )

    worker = threading.Thread(target=renew)
    worker.start()
    with _smtp_submission(release, context) as session:
        session.send_message(make_message("bob@example.test", ["alice@example.test"], tag))
    worker.join(timeout=600)
    seen["renew"] = renewal["result"]
    seen["renewed"] = served(release, context)
    seen["units"] = (units_before, _units(host))
    seen["imap_after"] = _imap_finds(imap, tag)
    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        imap.logout()

    # A change of CA: one new certificate with the same key; the old CA's account is forgotten.
    seen["moved"] = _run(release, *TAGS, extra=_acme(release, server=MOVED_DIRECTORY))
    seen["after_move"] = served(release, context)
    seen["moved_state"] = host.check_output(
        f"sed -n 's/^server *= *//p' /etc/letsencrypt/renewal/mailprov.conf; {ACCOUNTS}"
    )

    # A name pebble cannot validate: refused, the current certificate keeps serving.
    seen["refused"] = _run(
        release, *TAGS, extra=_acme(release, server=MOVED_DIRECTORY, extra_names=[UNRESOLVABLE])
    )
    seen["after_refused"] = served(release, context)
    return seen


@contextlib.contextmanager
def _smtp_submission(release: str, context: ssl.SSLContext) -> Iterator[Any]:
    import smtplib

    session = smtplib.SMTP(LOCALHOST, PORT_BASE[release] + 587, local_hostname="client.example.test", timeout=TIMEOUT)
    try:
        session.starttls(context=_relaxed(context))
        session.login("bob@example.test", PASSWORDS["bob@example.test"])
        yield session
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            session.quit()


def _relaxed(context: ssl.SSLContext) -> ssl.SSLContext:
    """The same trust for clients that connect to 127.0.0.1 (names are checked by `handshake`)."""
    pems = "".join(ssl.DER_cert_to_PEM_cert(der) for der in context.get_ca_certs(binary_form=True))
    relaxed = ssl.create_default_context(cadata=pems)
    relaxed.check_hostname = False
    return relaxed


def _imap_finds(imap: imaplib.IMAP4_SSL, tag: str, wait: float = 60) -> bool:
    """The session opened before the renewal still works and sees the message sent during it."""
    import time

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        imap.noop()
        _, data = imap.search(None, "SUBJECT", f'"{tag}"')
        if data[0].split():
            return True
        time.sleep(1)
    return False


def _web(release: str, context: ssl.SSLContext) -> dict[str, Any]:
    host = _host(release)
    host.run("printf proof > /var/lib/mailprov/acme/.well-known/acme-challenge/mailprov-test 2>/dev/null || "
             "{ mkdir -p /var/lib/mailprov/acme/.well-known/acme-challenge && "
             "printf proof > /var/lib/mailprov/acme/.well-known/acme-challenge/mailprov-test; }")  # fmt: skip
    web = {
        "challenge": http(release, HOSTNAME, "/.well-known/acme-challenge/mailprov-test"),
        "redirect": http(release, "autoconfig.example.test", "/mail/config-v1.1.xml"),
        "mta_sts": https(release, context, "mta-sts.other.test", "GET", "/.well-known/mta-sts.txt"),
        "mta_sts_elsewhere": https(release, context, HOSTNAME, "GET", "/.well-known/mta-sts.txt"),
        "autoconfig": https(
            release,
            context,
            "autoconfig.example.test",
            "GET",
            "/mail/config-v1.1.xml?emailaddress=alice%40example.test",
        ),
        "well_known": https(
            release, context, "autoconfig.other.test", "GET", "/.well-known/autoconfig/mail/config-v1.1.xml"
        ),
        "autodiscover": https(
            release,
            context,
            "autoconfig.example.test",
            "POST",
            "/autodiscover/autodiscover.xml",
            body=_AUTODISCOVER_REQUEST,
            headers={"Content-Type": "text/xml"},
        ),
        "apple": https(release, context, "autoconfig.other.test", "GET", "/mail.mobileconfig"),
        "not_found": https(release, context, HOSTNAME, "GET", "/index.html"),
    }
    host.run("rm -f /var/lib/mailprov/acme/.well-known/acme-challenge/mailprov-test")
    # The MTA-STS policy through a real MTA-STS implementation (Debian's postfix-mta-sts-resolver).
    web["mta_sts_parsed"] = CA(CONTAINERS[release]).exec("python3", "-c", _MTA_STS_PARSE, web["mta_sts"][2].decode(),
                                                       web["mta_sts"][1].get("content-type", ""))  # fmt: skip
    return web


_AUTODISCOVER_REQUEST = b"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>alice@example.test</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
"""

_MTA_STS_PARSE = """import json, sys
from postfix_mta_sts_resolver.utils import is_plaintext, parse_mta_sts_policy
print(json.dumps({"policy": parse_mta_sts_policy(sys.argv[1]), "plaintext": is_plaintext(sys.argv[2])}))
"""


@pytest.fixture(scope="module")
def flows() -> Iterator[dict[str, dict[str, Any]]]:
    folder = Path(_inventory()) / "acme-test"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {release: pool.submit(_flow, release, folder) for release in sorted(PORT_BASE)}
            yield {release: future.result() for release, future in futures.items()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for release in PORT_BASE:
            CA(CONTAINERS[release]).remove()


@pytest.fixture(scope="module", params=sorted(PORT_BASE))
def flow(request: pytest.FixtureRequest, flows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    seen = flows[request.param]
    seen["release"] = request.param
    return seen


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_issued_certificate_is_served_on_every_port(flow: dict[str, Any]) -> None:
    """25, 587 (STARTTLS), 465, 993, 995 and 443: pebble's certificate, valid for the server's name."""
    _ok(flow["issue"])
    issued = flow["issued"]
    assert all(isinstance(der, bytes) for der in issued.values()), issued
    assert len(set(issued.values())) == 1, "every port serves the same certificate"
    for name in NAMES:  # every name on it verifies (SNI on 443)
        handshake(flow["release"], 443, flow["context"], name)
    assert set(re.findall(r"DNS:([^,\s]+)", flow["lineage_names"])) == set(NAMES)


def test_second_deploy_changes_nothing_and_never_reissues(flow: dict[str, Any]) -> None:
    _ok(flow["again"])
    recap = play_recap(flow["again"].stdout)[CONTAINERS[flow["release"]]]
    assert recap["changed"] == 0, flow["again"].stdout[-4000:]
    assert flow["after_again"] == flow["issued"], "the same certificate: nothing was re-issued"


def test_forced_renewal_is_served_everywhere_without_a_restart(flow: dict[str, Any]) -> None:
    renew = flow["renew"]
    assert renew.rc == 0, renew.stdout[-3000:] + renew.stderr[-3000:]
    renewed = flow["renewed"]
    assert all(isinstance(der, bytes) for der in renewed.values()), renewed
    assert len(set(renewed.values())) == 1
    issued, new = next(iter(flow["issued"].values())), next(iter(renewed.values()))
    assert x509.load_der_x509_certificate(new).serial_number != x509.load_der_x509_certificate(issued).serial_number
    # The same key: the server's TLSA 3 1 1 records stay valid across renewals.
    assert re.search(r"(?m)^reuse_key = True$", flow["renewal_conf"]), flow["renewal_conf"]
    assert tlsa_311(new) == tlsa_311(issued)
    before, after = flow["units"]
    assert before == after, "reloaded, never restarted"
    assert flow["imap_after"], "the open IMAP session survived and sees the message sent during the renewal"


def test_a_name_the_ca_cannot_validate_fails_clearly_and_the_certificate_stays(flow: dict[str, Any]) -> None:
    result = flow["refused"]
    assert result.returncode != 0
    assert play_recap(result.stdout)[CONTAINERS[flow["release"]]]["failed"] >= 1
    assert UNRESOLVABLE in result.stdout
    assert "did not issue a certificate" in result.stdout
    answer = r"(?i)dns problem|nxdomain|no valid (a|ip)|could not resolve"  # pebble 2.6: "could not resolve URL"
    assert re.search(answer, result.stdout), result.stdout[-3000:]
    assert flow["after_refused"] == flow["after_move"], "the current certificate keeps serving"


def test_a_change_of_ca_issues_once_keeps_the_key_and_forgets_the_old_account(flow: dict[str, Any]) -> None:
    _ok(flow["moved"])
    moved = flow["after_move"]
    assert all(isinstance(der, bytes) for der in moved.values()), moved
    assert len(set(moved.values())) == 1
    new = next(iter(moved.values()))
    assert new != next(iter(flow["renewed"].values())), "issued again by the new CA"
    assert tlsa_311(new) == tlsa_311(next(iter(flow["issued"].values()))), "the same key"
    server, *accounts = flow["moved_state"].split()
    assert server == MOVED_DIRECTORY
    assert len(accounts) == 1 and "/localhost:14000/" in accounts[0], accounts


def test_port_80_answers_challenges_and_redirects_the_rest(flow: dict[str, Any]) -> None:
    status, _, body = flow["web"]["challenge"]
    assert (status, body) == (200, b"proof")
    status, headers, _ = flow["web"]["redirect"]
    assert status == 301
    assert headers["location"] == "https://autoconfig.example.test/mail/config-v1.1.xml"


def test_mta_sts_policy(flow: dict[str, Any]) -> None:
    status, headers, _ = flow["web"]["mta_sts"]
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    parsed = json.loads(flow["web"]["mta_sts_parsed"])
    assert parsed["plaintext"]
    assert parsed["policy"] == {"version": "STSv1", "mode": "testing", "mx": [HOSTNAME], "max_age": "604800"}
    assert flow["web"]["mta_sts_elsewhere"][0] == 404  # only on mta-sts.DOMAIN


def test_thunderbird_autoconfig(flow: dict[str, Any]) -> None:
    for key, domain in (("autoconfig", "example.test"), ("well_known", "other.test")):
        status, headers, body = flow["web"][key]
        assert status == 200
        assert "xml" in headers["content-type"]
        provider = ET.fromstring(body).find("emailProvider")
        assert provider is not None
        assert provider.get("id") == domain
        servers = {
            (el.get("type"), el.findtext("port"), el.findtext("socketType"), el.findtext("hostname"))
            for el in provider if el.tag in ("incomingServer", "outgoingServer")
        }  # fmt: skip
        assert servers == {
            ("imap", "993", "SSL", HOSTNAME), ("pop3", "995", "SSL", HOSTNAME),
            ("smtp", "465", "SSL", HOSTNAME), ("smtp", "587", "STARTTLS", HOSTNAME),
        }  # fmt: skip


def test_outlook_autodiscover_post(flow: dict[str, Any]) -> None:
    status, _, body = flow["web"]["autodiscover"]
    assert status == 200
    ns = {"r": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
    protocols = ET.fromstring(body).findall(".//r:Protocol", ns)
    found = {(p.findtext("r:Type", namespaces=ns), p.findtext("r:Port", namespaces=ns)) for p in protocols}
    assert found == {("IMAP", "993"), ("POP3", "995"), ("SMTP", "465")}


def test_apple_profile_download(flow: dict[str, Any]) -> None:
    """What Safari installs: the profile type, this server's IMAP 993 and SMTP 465, no password."""
    status, headers, body = flow["web"]["apple"]
    assert status == 200
    assert headers["content-type"] == "application/x-apple-aspen-config"
    profile = plistlib.loads(body)
    [account] = profile["PayloadContent"]
    assert account["PayloadType"] == "com.apple.mail.managed"
    assert account["EmailAccountDescription"] == "Mail at other.test"
    assert (account["IncomingMailServerHostName"], account["IncomingMailServerPortNumber"]) == (HOSTNAME, 993)
    assert (account["OutgoingMailServerHostName"], account["OutgoingMailServerPortNumber"]) == (HOSTNAME, 465)
    assert account["IncomingMailServerUseSSL"] and account["OutgoingMailServerUseSSL"]
    assert not {"IncomingPassword", "OutgoingPassword", "EmailAddress", "IncomingMailServerUsername"} & set(account)


def test_https_headers_and_404(flow: dict[str, Any]) -> None:
    status, headers, _ = flow["web"]["not_found"]
    assert status == 404
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["server"] == "nginx"  # no version


def test_restore_inventory_state() -> None:
    """selfsigned again: certbot's lineage and hook are gone, a self-signed certificate serves."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = {release: pool.submit(_run, release, *TAGS) for release in sorted(PORT_BASE)}
        done = {release: future.result() for release, future in results.items()}
    for release, result in done.items():
        _ok(result)
        host = _host(release)
        assert not host.file("/etc/letsencrypt/renewal/mailprov.conf").exists
        assert not host.file("/etc/letsencrypt/renewal-hooks/deploy/mailprov").exists
        assert host.run(ACCOUNTS).stdout == "", "no ACME account left behind"
        cert = f"/etc/mailprov/tls/{HOSTNAME}.crt"
        subject = host.check_output(f"openssl x509 -in {cert} -noout -subject")
        issuer = host.check_output(f"openssl x509 -in {cert} -noout -issuer")
        assert subject.split("=", 1)[1] == issuer.split("=", 1)[1]
        pem = host.file(cert).content_string
        context = ssl.create_default_context(cadata=pem)
        context.check_hostname = False
        assert handshake(release, 993, context) == ssl.PEM_cert_to_DER_cert(pem)
