import pytest

from provisioner.inventory.names import InvalidName, normalize_address, normalize_domain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.ORG", "example.org"),
        ("example.org.", "example.org"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("mail-1.sub.example.co.uk", "mail-1.sub.example.co.uk"),
    ],
)
def test_domains_are_stored_as_lowercase_a_labels(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "localhost", "-bad.example", "bad-.example", "a..b", "exa mple.org", "1.2.3.4",
            "a" * 64 + ".org", ("a" * 60 + ".") * 5 + "org", "under_score.org"],
)
def test_invalid_domains_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName):
        normalize_domain(raw)


def test_addresses_are_lowercased_with_idna_domains() -> None:
    assert normalize_address("Alice.Smith+tag@Bücher.Example") == "alice.smith+tag@xn--bcher-kva.example"


@pytest.mark.parametrize("raw", ["alice", "@example.org", "eve\n@example.org", "eve@exam\nple.org", "al ice@example.org", "a..b@example.org",
                                 ".a@example.org", "alice@", "alice@localhost", "x" * 65 + "@example.org"])
def test_invalid_addresses_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName):
        normalize_address(raw)


def test_non_ascii_local_parts_are_stored_nfc_lowercase() -> None:
    """RFC 6531 local parts: letters, marks and digits beyond ASCII; NFC whatever was typed."""
    decomposed = "Jo\u0308rg@Bücher.Example"  # o + combining diaeresis
    assert normalize_address(decomposed) == "j\u00f6rg@xn--bcher-kva.example"
    assert normalize_address("ÖSTERREICH.müller@example.org") == "österreich.müller@example.org"
    assert normalize_address("用户@example.org") == "用户@example.org"


@pytest.mark.parametrize("raw", ["jö rg@example.org", "a\u00a0b@example.org", "a\u200bb@example.org",
                                 "☃@example.org", "ö" * 33 + "@example.org"])
def test_non_ascii_local_parts_need_letters_and_fit_64_octets(raw: str) -> None:
    with pytest.raises(InvalidName):
        normalize_address(raw)
