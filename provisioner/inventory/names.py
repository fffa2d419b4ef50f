"""Syntax of host names, domains and mail addresses; stored as lower-case A-labels."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import idna

from provisioner.problems import clip, shown

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A dot-atom local part (RFC 5322) of the characters the roles store safely: the local part of
# a mailbox becomes a folder name (home = <vmail>/<domain>/<local part>) and a field of Dovecot's
# passwd-file and Postfix's tables. Quoted local parts are legal but no operator wants one.
_LOCAL_PART = re.compile(r"^[a-z0-9_](?:[a-z0-9_=+-]|\.(?=[a-z0-9_=+-]))*$")
_UNSAFE = {
    "/": "separates folders: the mailbox's home would lie inside another mailbox's home",
    "\\": "is an escape character in Dovecot's and Postfix's tables",
    "!": "is UUCP routing syntax (bang path) for Postfix",
    "%": "is source-routing syntax for Postfix (the percent hack) and Dovecot's variable syntax",
    "@": "may appear only once, before the domain",
    ":": "separates fields in Dovecot's passwd-file",
    "|": "starts a command in alias tables",
    "#": "starts a comment in Postfix's and Dovecot's tables",
    **{c: "is shell or template syntax in the server's configuration" for c in "$`'\"{}&*?^~;<>()[],"},
}
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
    except (idna.IDNAError, UnicodeError) as err:
        raise InvalidName(f"{shown(raw)} is not a valid domain name: {clip(str(err))}") from None
    ascii_name = ascii_name.lower()
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidName(f"{shown(raw)} needs at least two labels, like example.org")
    if len(ascii_name) > _MAX_DOMAIN:
        raise InvalidName(f"{shown(raw)} is longer than {_MAX_DOMAIN} characters")
    bad = [label for label in labels if not _LABEL.fullmatch(label)]
    if bad:
        raise InvalidName(f"{shown(raw)} has an invalid label {shown(bad[0])}")
    if labels[-1].isdigit():
        raise InvalidName(f"{shown(raw)} ends in a numeric label; use a name, not an address")
    return ascii_name


def _eai_letter(char: str) -> bool:
    """A non-ASCII character allowed in a local part (RFC 6531): letters, marks, digits."""
    return not char.isascii() and unicodedata.category(char)[0] in "LMN"


def normalize_address(raw: str) -> str:
    """Lower-case `local@a-label-domain` form of a mail address, or InvalidName.

    A local part may hold non-ASCII letters (RFC 6531), stored NFC-normalised; whether the
    servers can deliver them is a rule of the whole inventory (consistency.check_release)."""
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local:
        raise InvalidName(f"{shown(raw)} is not a mail address like user@example.org")
    local = unicodedata.normalize("NFC", unicodedata.normalize("NFC", local).lower())
    if len(local.encode()) > _MAX_LOCAL:
        raise InvalidName(f"{shown(raw)} has more than {_MAX_LOCAL} bytes before the @")
    if not _LOCAL_PART.fullmatch("".join("a" if _eai_letter(char) else char for char in local)):
        raise InvalidName(f"{shown(raw)} has an invalid part before the @: {_why_local(local)}")
    return f"{local}@{normalize_domain(domain)}"


def _why_local(local: str) -> str:
    for char in local:
        if char in _UNSAFE:
            return f"{char!r} {_UNSAFE[char]}"
        if not char.isprintable() or char.isspace():
            return f"{char!r} is a space or control character"
        if not char.isascii() and not _eai_letter(char):
            return f"{char!r} is not a letter or digit (non-ASCII names may use letters, marks and digits)"
    if local.startswith((".", "-", "+", "=")):
        return (f"it starts with {local[0]!r} (a hidden folder, an option to server tools, "
                "or an empty name before the + of a subaddress)")
    return "a dot at the end or two dots in a row (a folder such as '..' or 'a.')"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]
