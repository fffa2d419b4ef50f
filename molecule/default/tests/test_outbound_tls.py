"""Outbound TLS that cannot be downgraded, and the server's own TLSA record (issue 12).

Beside each converged server, inside its network namespace: two receiving MTAs
(`smtp_receiver.py`) on 127.0.0.2, port 2525 with STARTTLS and 2526 without, and a zone
`tls.test` signed here (dnspython, ECDSA P-256) that the server's unbound serves as an
`auth-zone` with the zone's key as its trust anchor, so answers carry the AD bit:

- good.tls.test: MX with a TLSA 3 1 1 of the receiver's key -> delivered over TLS;
- bad.tls.test: MX with a TLSA of another key -> deferred, never sent (in clear or at all);
- sts.tls.test: an MTA-STS `enforce` policy (nginx serves it over HTTPS with a certificate
  from a test CA the system trusts), its MX without STARTTLS -> deferred by the policy;
- plain.tls.test: neither DANE nor MTA-STS, no STARTTLS -> delivered (opportunistic).

The scenario's transport_maps send these domains to ports 2525/2526 through Postfix's `relay`
transport (smtp(8) with the same settings; MX lookups still decide the host), which the
scenario's `defer_transports = smtp` does not hold.
The scenario's resolver is offline and /etc/resolv.conf is the container's (apt needs it):
the fixture points it at unbound for the duration, as the resolver role does on a real server.
"""

from __future__ import annotations

import datetime
import json
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dns.dnssec
import dns.zone
import pytest
from conftest import LOCALHOST, PORT_BASE, Server, _server, mailprov_dns, make_message, token
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provisioner.dns.certs import served
from provisioner.dns.tlsa import tlsa_311

RECEIVER = "127.0.0.2"
WORK = "/var/lib/mailprov-tls-test"  # unbound (not root) reads the zone here
ZONE = "tls.test."
POLICY = "version: STSv1\nmode: enforce\nmx: mx-sts.tls.test\nmax_age: 86400\n"
HERE = Path(__file__).resolve().parent


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(name: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None = None,
          ca: bool = False) -> bytes:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer if issuer else (name, key)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=7))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    # Python 3.13's strict verification (the MTA-STS daemon's HTTPS client) wants these.
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def signed_zone(good: bytes, other: bytes) -> tuple[str, str]:
    """The test zone, signed; and its key as an unbound trust-anchor line."""
    text = f"""$TTL 300
@ SOA ns.tls.test. hostmaster.tls.test. 1 3600 600 86400 300
@ NS ns
ns A 127.0.0.1
good MX 10 mx-good
mx-good A {RECEIVER}
_2525._tcp.mx-good TLSA {tlsa_311(good)}
bad MX 10 mx-bad
mx-bad A {RECEIVER}
_2525._tcp.mx-bad TLSA {tlsa_311(other)}
sts MX 10 mx-sts
mx-sts A {RECEIVER}
_mta-sts.sts TXT "v=STSv1; id=mailprov1"
mta-sts.sts A 127.0.0.1
plain MX 10 mx-plain
mx-plain A {RECEIVER}
"""
    zone = dns.zone.from_text(text, origin=ZONE, relativize=False)
    key = _key()
    dnskey = dns.dnssec.make_dnskey(key.public_key(), dns.dnssec.Algorithm.ECDSAP256SHA256, flags=257)
    with zone.writer() as txn:
        dns.dnssec.sign_zone(zone, txn=txn, keys=[(key, dnskey)], inception=time.time() - 3600,
                             expiration=time.time() + 7 * 86400)
    return zone.to_text(relativize=False), f"{ZONE} 300 IN DNSKEY {dnskey.to_text()}"


UNBOUND = """server:
    local-zone: "tls.test." transparent
    trust-anchor: "{anchor}"
auth-zone:
    name: "tls.test."
    zonefile: "{work}/tls.test.zone"
    for-upstream: yes
    for-downstream: no
    fallback-enabled: no
"""
NGINX = """server {{
    listen 443 ssl;
    server_name mta-sts.sts.tls.test;
    ssl_certificate {work}/sts.crt;
    ssl_certificate_key {work}/sts.key;
    location = /.well-known/mta-sts.txt {{
        default_type text/plain;
        return 200 "{policy}";
    }}
}}
"""
FILES = {"/etc/unbound/unbound.conf.d/zz-mailprov-tls-test.conf", "/etc/nginx/conf.d/zz-mailprov-tls-test.conf",
         "/usr/local/share/ca-certificates/mailprov-tls-test.crt"}


def run(server: Server, script: str) -> str:
    result = subprocess.run(["podman", "exec", server.container, "sh", "-ec", script],
                            capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def put(server: Server, path: str, data: bytes, mode: str = "0644") -> None:
    subprocess.run(["podman", "exec", "-i", server.container, "sh", "-ec",
                    f"cat > {shlex.quote(path)} && chmod {mode} {shlex.quote(path)}"],
                   input=data, timeout=60, check=True)


@pytest.fixture(scope="module", params=sorted(PORT_BASE))
def lab(request: pytest.FixtureRequest) -> Iterator[Server]:
    server = _server(request.param)
    recv_key, ca_key, sts_key = _key(), _key(), _key()
    recv_cert = _cert("mx-good.tls.test", recv_key)
    ca_cert = _cert("mailprov test CA", ca_key, ca=True)
    sts_cert = _cert("mta-sts.sts.tls.test", sts_key, issuer=("mailprov test CA", ca_key))
    zone, anchor = signed_zone(recv_cert, _cert("other", _key()))
    run(server, f"mkdir -p {WORK} && chmod 0755 {WORK} && cp /etc/resolv.conf {WORK}/resolv.conf.orig")
    put(server, f"{WORK}/tls.test.zone", zone.encode())
    for name, data, mode in (("recv.crt", recv_cert, "0644"), ("recv.key", _pem_key(recv_key), "0600"),
                             ("sts.crt", sts_cert, "0644"), ("sts.key", _pem_key(sts_key), "0600")):
        put(server, f"{WORK}/{name}", data, mode)
    put(server, f"{WORK}/smtp_receiver.py", (HERE / "smtp_receiver.py").read_bytes(), "0755")
    put(server, "/usr/local/share/ca-certificates/mailprov-tls-test.crt", ca_cert)
    put(server, "/etc/unbound/unbound.conf.d/zz-mailprov-tls-test.conf",
        UNBOUND.format(anchor=anchor, work=WORK).encode())
    put(server, "/etc/nginx/conf.d/zz-mailprov-tls-test.conf",
        NGINX.format(work=WORK, policy=POLICY.replace("\n", "\\n")).encode())
    # As the resolver role writes it on a real server (offline it leaves the container's).
    put(server, "/etc/resolv.conf.mailprov-test", b"nameserver 127.0.0.1\noptions trust-ad edns0\n")
    run(server, "cat /etc/resolv.conf.mailprov-test > /etc/resolv.conf && rm /etc/resolv.conf.mailprov-test"
                " && update-ca-certificates >/dev/null && unbound-checkconf >/dev/null && systemctl reload unbound"
                " && nginx -t 2>/dev/null && systemctl reload nginx"
                # The daemon reads resolv.conf and the CA store when it starts; Postfix's smtp
                # processes pick up resolv.conf when they are replaced.
                " && systemctl restart postfix-mta-sts-resolver && postfix reload 2>/dev/null")
    pids = run(server, f"""cd {WORK}
for args in "{RECEIVER} 2525 {WORK}/received.jsonl {WORK}/recv.crt {WORK}/recv.key" \\
            "{RECEIVER} 2526 {WORK}/received.jsonl"; do
  setsid python3 {WORK}/smtp_receiver.py $args >/dev/null 2>&1 < /dev/null & echo $!
done""").split()
    run(server, f"for port in 8461 2525 2526; do for i in $(seq 50); do"
                f" ss -Htln | grep -qE '(127.0.0.1|{RECEIVER}):'$port' ' && break; sleep 0.2; done; done")
    try:
        yield server
    finally:
        queued = [m["queue_id"] for m in queue(server)
                  if any(r["address"].endswith(".tls.test") for r in m["recipients"])]
        restore = [f"kill {pid} || true" for pid in pids]
        restore += [f"postsuper -d {q} >/dev/null 2>&1 || true" for q in queued]
        restore += [f"rm -f {path}" for path in sorted(FILES)]
        # Only from a saved copy that is there: `cat missing > resolv.conf` would empty it.
        restore += [f"[ -s {WORK}/resolv.conf.orig ] && cat {WORK}/resolv.conf.orig > /etc/resolv.conf",
                    f"rm -rf {WORK}",
                    "update-ca-certificates --fresh >/dev/null", "systemctl reload unbound", "systemctl reload nginx",
                    "systemctl restart postfix-mta-sts-resolver", "postfix reload 2>/dev/null"]
        run(server, " ; ".join(restore))


def queue(server: Server) -> list[dict]:
    out = run(server, "postqueue -j")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def received(server: Server) -> list[dict]:
    out = run(server, f"cat {WORK}/received.jsonl 2>/dev/null || true")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def send_out(server: Server, recipient: str) -> str:
    """alice sends one message to `recipient` on 587 (delivered at once: the test domains'
    transport is `relay`, which defer_transports does not hold). Returns the queue id."""
    sender = "alice@example.test"
    with server.submission(587, sender) as smtp:
        smtp.mail(sender)
        smtp.rcpt(recipient)
        code, reply = smtp.data(make_message(sender, [recipient], token("outbound-tls")).as_bytes())
    assert code == 250, reply
    return reply.decode().rsplit(" ", 1)[-1]


def attempt(server: Server, queue_id: str, recipient: str) -> str | None:
    """Wait for the attempt's outcome: None when delivered, else the deferral reason."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        entry = next((m for m in queue(server) if m["queue_id"] == queue_id), None)
        if entry is None:
            return None
        reason = next((r.get("delay_reason", "") for r in entry["recipients"] if r["address"] == recipient), "")
        if entry["queue_name"] == "deferred" and reason:
            return str(reason)
        time.sleep(0.5)
    pytest.fail(f"{queue_id} to {recipient}: no delivery attempt within 60 s: {queue(server)}")


def log_since(server: Server, queue_id: str) -> str:
    return run(server, f"journalctl --no-pager -q -o cat --since '-5min' | grep {queue_id} || true")


def test_mta_sts_resolver_runs_on_loopback(lab: Server) -> None:
    run(lab, "systemctl is-active postfix-mta-sts-resolver")
    listening = run(lab, "ss -Htln 'sport = :8461'")
    assert listening.split() and all("127.0.0.1:8461" in line for line in listening.splitlines()), listening
    maps = run(lab, "postconf -h smtp_tls_policy_maps")
    assert "socketmap:inet:127.0.0.1:8461:postfix" in maps


def test_policy_map_answers_from_the_published_policy(lab: Server) -> None:
    answer = run(lab, "postmap -q sts.tls.test socketmap:inet:127.0.0.1:8461:postfix")
    assert answer.split()[0] == "secure" and "match=mx-sts.tls.test" in answer, answer
    # No policy published: no answer, so DANE or opportunistic TLS decide.
    none = subprocess.run(["podman", "exec", lab.container, "postmap", "-q", "plain.tls.test",
                           "socketmap:inet:127.0.0.1:8461:postfix"], capture_output=True, text=True, check=False)
    assert none.returncode == 1 and not none.stdout.strip(), none


def test_dane_matching_tlsa_delivers_over_verified_tls(lab: Server) -> None:
    recipient = f"{token('dane')}@good.tls.test"
    queue_id = send_out(lab, recipient)
    assert attempt(lab, queue_id, recipient) is None, log_since(lab, queue_id)
    got = [m for m in received(lab) if recipient in " ".join(m["rcpt"])]
    assert got and all(m["tls"] for m in got), got
    assert "Verified TLS connection established" in run(lab, "journalctl --no-pager -q -o cat --since '-5min'")


def test_dane_tlsa_mismatch_defers_and_never_sends(lab: Server) -> None:
    recipient = f"{token('dane')}@bad.tls.test"
    queue_id = send_out(lab, recipient)
    reason = attempt(lab, queue_id, recipient)
    assert reason is not None and "certificate" in reason.lower(), reason
    assert not [m for m in received(lab) if recipient in " ".join(m["rcpt"])]
    assert "no matching DANE TLSA records" in run(
        lab, "journalctl --no-pager -q -o cat --since '-5min' | grep 'mx-bad.tls.test' || true")


def test_mta_sts_enforce_without_starttls_defers(lab: Server) -> None:
    recipient = f"{token('sts')}@sts.tls.test"
    queue_id = send_out(lab, recipient)
    reason = attempt(lab, queue_id, recipient)
    assert reason is not None and "TLS is required" in reason, reason
    assert not [m for m in received(lab) if recipient in " ".join(m["rcpt"])]


def test_receiver_without_dane_or_mta_sts_gets_mail_opportunistically(lab: Server) -> None:
    recipient = f"{token('plain')}@plain.tls.test"
    queue_id = send_out(lab, recipient)
    assert attempt(lab, queue_id, recipient) is None, log_since(lab, queue_id)
    assert [m for m in received(lab) if recipient in " ".join(m["rcpt"])]


def test_own_tlsa_record_matches_the_certificate_served_on_25(lab: Server) -> None:
    records = mailprov_dns(lab.container, "--selector", "mail")
    tlsa = [r for r in records if r["type"] == "TLSA"]
    assert [r["name"] for r in tlsa] == ["_25._tcp.mail.example.test."], tlsa
    assert tlsa[0]["value"] == tlsa_311(served(LOCALHOST, lab.port(25))), "the record names the key port 25 serves"
