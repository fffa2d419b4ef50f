"""Syntax of host names, domains and mail addresses; stored as lower-case A-labels."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import idna

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# RFC 5322 dot-atom local part; quoted local parts are legal but no operator wants one.
_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_MAX_DOMAIN = 253
_MAX_LOCAL = 64


class InvalidName(ValueError):
    """A name that is not a valid domain, host name or address; the text says why."""


@lru_cache(maxsize=4096)  # IDNA encoding is slow and every address repeats its domain
def normalize_domain(raw: str) -> str:
    """Lower-case A-label form of a domain (IDNA accepted), or InvalidName."""
    text = raw.strip().rstrip(".")
    if not text:
        raise InvalidName("empty domain name")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as err:
        raise InvalidName(f"{raw!r} is not a valid domain name: {err}") from None
    ascii_name = ascii_name.lower()
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidName(f"{raw!r} needs at least two labels, like example.org")
    if len(ascii_name) > _MAX_DOMAIN:
        raise InvalidName(f"{raw!r} is longer than {_MAX_DOMAIN} characters")
    bad = [label for label in labels if not _LABEL.fullmatch(label)]
    if bad:
        raise InvalidName(f"{raw!r} has an invalid label {bad[0]!r}")
    if labels[-1].isdigit():
        raise InvalidName(f"{raw!r} ends in a numeric label; use a name, not an address")
    return ascii_name


def _eai_letter(char: str) -> bool:
    """A non-ASCII character allowed in a local part (RFC 6531): letters, marks, digits."""
    return not char.isascii() and unicodedata.category(char)[0] in "LMN"


def normalize_address(raw: str) -> str:
    """Lower-case `local@a-label-domain` form of a mail address, or InvalidName.

    A local part may hold non-ASCII letters (RFC 6531), stored NFC-normalised; whether the
    servers can deliver them is a rule of the whole inventory (consistency.py)."""
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local:
        raise InvalidName(f"{raw!r} is not a mail address like user@example.org")
    local = unicodedata.normalize("NFC", unicodedata.normalize("NFC", local).lower())
    ascii_shape = "".join("a" if _eai_letter(char) else char for char in local)
    if len(local.encode()) > _MAX_LOCAL or not _LOCAL_PART.fullmatch(ascii_shape):
        raise InvalidName(f"{raw!r} has an invalid part before the @")
    return f"{local}@{normalize_domain(domain)}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]
