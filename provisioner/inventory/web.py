"""What the web face of a server (roles/web) serves, derived from the model: one place for
`mailprov dns` (the `_mta-sts` id), `mailprov check` (the policy it expects to fetch) and the
unit tests that pin the role's templates to it."""

from __future__ import annotations

import hashlib

from provisioner.inventory.model import Inventory


def mta_sts_policy(inventory: Inventory) -> str:
    """The policy the web role serves at https://mta-sts.DOMAIN/.well-known/mta-sts.txt
    (roles/web/templates/mta-sts.txt.j2 renders the same text; a unit test pins the two)."""
    policy = inventory.settings.mta_sts
    lines = ["version: STSv1", f"mode: {policy.mode}", *(f"mx: {mx}" for mx in inventory.mx_names()),
             f"max_age: {policy.max_age}"]
    return "\n".join(lines) + "\n"


def mta_sts_id(policy: str) -> str:
    """The `_mta-sts` TXT id: a hash of the policy text (changes exactly when the policy does)."""
    return hashlib.sha256(policy.encode("utf-8")).hexdigest()[:32]


# Where roles/web serves each hosted domain's Apple configuration profile (no password in it;
# the device asks for the address, the username and the password). A unit test pins the nginx
# template's location to this path.
APPLE_PROFILE_PATH = "/mail.mobileconfig"


def apple_profile_url(domain: str) -> str:
    return f"https://autoconfig.{domain.lower()}{APPLE_PROFILE_PATH}"
