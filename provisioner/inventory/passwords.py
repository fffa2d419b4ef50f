"""Password hashes in Dovecot's `{SCHEME}hash` format; the inventory never holds plaintext."""

from __future__ import annotations

import re

from argon2 import PasswordHasher

DEFAULT_SCHEME = "ARGON2ID"

# Schemes Dovecot verifies on both Debian 12 and 13. Only ARGON2ID is generated here;
# the crypt schemes are accepted so existing hashes can be imported during a migration.
_HASH_PATTERNS: dict[str, re.Pattern[str]] = {
    "ARGON2ID": re.compile(
        # salt of 8 bytes or more, hash of 16 bytes or more (base64 without padding)
        r"^\{ARGON2ID\}\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{22,}$"
    ),
    "SHA512-CRYPT": re.compile(
        r"^\{SHA512-CRYPT\}\$6\$(rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}$"
    ),
    "BLF-CRYPT": re.compile(r"^\{BLF-CRYPT\}\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$"),
}
_BARE_CRYPT = {"$6$": "SHA512-CRYPT", "$2a$": "BLF-CRYPT", "$2b$": "BLF-CRYPT",
               "$2y$": "BLF-CRYPT", "$argon2id$": "ARGON2ID"}

HASH_HELP = (
    "store a hash: run `mailprov user passwd ADDRESS`, or import one with "
    "`--password-hash '{ARGON2ID}$argon2id$...'` ({SHA512-CRYPT} and {BLF-CRYPT} also accepted)"
)


class UnrecognisedHash(ValueError):
    """The value is not a password hash mailprov can hand to Dovecot."""


def hash_password(plain: str) -> str:
    """Hash with argon2id (argon2-cffi defaults: m=64 MiB, t=3, p=4), in Dovecot's format."""
    if not plain:
        raise ValueError("the password is empty")
    return "{" + DEFAULT_SCHEME + "}" + PasswordHasher().hash(plain)


def scheme_of(value: str) -> str | None:
    """The Dovecot scheme of a stored hash, or None when it is not one we accept."""
    return next((name for name, rx in _HASH_PATTERNS.items() if rx.fullmatch(value)), None)


def normalize_imported_hash(value: str) -> str:
    """Accept a hash with or without the `{SCHEME}` prefix; return it prefixed."""
    text = value.strip()
    if not text.startswith("{"):
        for prefix, scheme in _BARE_CRYPT.items():
            if text.startswith(prefix):
                text = "{" + scheme + "}" + text
                break
    if scheme_of(text) is None:
        raise UnrecognisedHash(
            "not an {ARGON2ID}, {SHA512-CRYPT} or {BLF-CRYPT} hash in Dovecot's format"
        )
    return text
