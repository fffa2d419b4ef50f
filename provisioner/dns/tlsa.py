"""The data of a DANE-EE TLSA record (RFC 7671: usage 3, selector 1 SPKI, matching 1 SHA-256).

It hashes the public key only, never the certificate, so it stays valid as long as the key
does: the acme role keeps the lineage's key across renewals and changes of names or CA
(certbot `reuse_key`), `files` keeps the operator's key, and a new key comes only with a new
lineage or another TLS mode (docs/roles.md, "Key").
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def spki_sha256(certificate: bytes) -> str:
    """`3 1 1` data for a certificate given as PEM or DER: hex SHA-256 of its SubjectPublicKeyInfo."""
    cert = (x509.load_pem_x509_certificate(certificate) if certificate.lstrip().startswith(b"-----")
            else x509.load_der_x509_certificate(certificate))  # fmt: skip
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def tlsa_311(certificate: bytes) -> str:
    """The record's value as a zone file writes it: `3 1 1 <hex>`."""
    return f"3 1 1 {spki_sha256(certificate)}"
