import crypt  # deprecated in the stdlib, but still the reference for $6$ hashes

import pytest
from argon2 import PasswordHasher

from provisioner.inventory.passwords import UnrecognisedHash, hash_password, normalize_imported_hash, scheme_of


def test_default_hash_is_argon2id_in_dovecot_format_and_verifies() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=4$")
    assert scheme_of(stored) == "ARGON2ID"
    assert PasswordHasher().verify(stored.removeprefix("{ARGON2ID}"), "correct horse")
    assert hash_password("correct horse") != stored  # salted


def test_empty_password_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


def test_sha512_crypt_import_with_or_without_prefix_keeps_a_verifiable_hash() -> None:
    bare = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_SHA512))
    stored = normalize_imported_hash(bare)
    assert stored == "{SHA512-CRYPT}" + bare
    assert scheme_of(stored) == "SHA512-CRYPT"
    assert crypt.crypt("s3cret", stored.removeprefix("{SHA512-CRYPT}")) == bare
    assert normalize_imported_hash(stored) == stored


def test_blowfish_crypt_hash_is_accepted() -> None:
    bcrypt_hash = "$2y$10$" + "a" * 53
    assert normalize_imported_hash(bcrypt_hash) == "{BLF-CRYPT}" + bcrypt_hash


@pytest.mark.parametrize("value", ["hunter2", "{PLAIN}hunter2", "{MD5}abc", "$1$salt$hash", "{SHA512-CRYPT}$6$x"])
def test_plaintext_and_weak_schemes_are_refused(value: str) -> None:
    assert scheme_of(value) is None
    with pytest.raises(UnrecognisedHash):
        normalize_imported_hash(value)
