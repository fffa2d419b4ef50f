"""The default scenario's service and client checks, run unchanged on the
upgraded server (named to run after test_upgrade_kept.py, whose Sieve
script test_sieve_rule_files_into_folder replaces)."""

from __future__ import annotations

from test_mail import (
    test_imap_login_after_starttls,
    test_imap_refuses_login_before_starttls,
    test_inbound_on_port_25,
    test_managesieve_refuses_auth_before_starttls,
    test_no_open_relay_on_25,
    test_over_quota_refused_at_rcpt,
    test_pop3_login_after_stls,
    test_pop3_refuses_login_before_starttls,
    test_sieve_rule_files_into_folder,
    test_special_use_folders,
    test_submission_refuses_auth_before_starttls,
    test_submit_and_read_back,
    test_unknown_local_user_refused_at_rcpt,
    test_wrong_password_refused,
)
from test_services import (
    test_certificate_names_the_host,
    test_configuration_is_valid,
    test_every_hash_scheme_authenticates,
    test_listening,
    test_old_tls_refused,
    test_postfix_settings,
    test_release_versions,
    test_secret_files_modes,
    test_services_running_and_enabled,
)

__all__ = [
    "test_certificate_names_the_host",
    "test_configuration_is_valid",
    "test_every_hash_scheme_authenticates",
    "test_imap_login_after_starttls",
    "test_imap_refuses_login_before_starttls",
    "test_inbound_on_port_25",
    "test_listening",
    "test_managesieve_refuses_auth_before_starttls",
    "test_no_open_relay_on_25",
    "test_old_tls_refused",
    "test_over_quota_refused_at_rcpt",
    "test_pop3_login_after_stls",
    "test_pop3_refuses_login_before_starttls",
    "test_postfix_settings",
    "test_release_versions",
    "test_secret_files_modes",
    "test_services_running_and_enabled",
    "test_sieve_rule_files_into_folder",
    "test_special_use_folders",
    "test_submission_refuses_auth_before_starttls",
    "test_submit_and_read_back",
    "test_unknown_local_user_refused_at_rcpt",
    "test_wrong_password_refused",
]
