"""TLSA 3 1 1 data: the hash of the public key, the same for every certificate of one key
(what the acme role's key reuse keeps valid across renewals), and the value of the usual
openssl recipe."""

from __future__ import annotations

import datetime
import hashlib
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from provisioner.dns.tlsa import spki_sha256, tlsa_311


def _certificate(key: ec.EllipticCurvePrivateKey, serial: int) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=90))
            .sign(key, hashes.SHA256()))  # fmt: skip


def test_a_renewed_certificate_of_the_same_key_has_the_same_record() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    first, renewed = _certificate(key, 1), _certificate(key, 2)
    assert first.public_bytes(Encoding.DER) != renewed.public_bytes(Encoding.DER)
    assert tlsa_311(first.public_bytes(Encoding.PEM)) == tlsa_311(renewed.public_bytes(Encoding.DER))
    other = _certificate(ec.generate_private_key(ec.SECP256R1()), 1)
    assert spki_sha256(other.public_bytes(Encoding.DER)) != spki_sha256(first.public_bytes(Encoding.DER))


def test_the_value_of_the_openssl_recipe() -> None:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl binary")
    pem = _certificate(ec.generate_private_key(ec.SECP256R1()), 7).public_bytes(Encoding.PEM)
    public = subprocess.run(["openssl", "x509", "-noout", "-pubkey"], input=pem, capture_output=True, check=True)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=public.stdout,
                         capture_output=True, check=True)  # fmt: skip
    assert tlsa_311(pem) == "3 1 1 " + hashlib.sha256(der.stdout).hexdigest()
