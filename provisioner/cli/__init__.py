"""The `mailprov` command: parse, call, print. Logic lives in the modules beside cli/."""

from __future__ import annotations

import click

from provisioner import __version__
from provisioner.cli import accounts, backup, bans, check, deploy, probe_account, sandbox, settings_command, setup
from provisioner.cli import dns as dns_cli
from provisioner.cli import rehearse as rehearse_cli
from provisioner.cli import relay as relay_cli
from provisioner.cli import status as status_cli
from provisioner.cli.common import MailprovGroup


@click.group(cls=MailprovGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mailprov")
def main() -> None:
    """Provision complete Postfix + Dovecot mail servers on Debian from a YAML inventory."""


main.add_command(setup.init)
main.add_command(setup.validate)
main.add_command(accounts.domain)
main.add_command(accounts.user)
main.add_command(accounts.alias)
main.add_command(deploy.deploy)
main.add_command(deploy.apply)
main.add_command(check.check)
main.add_command(status_cli.status_command)
main.add_command(bans.bans_group)
main.add_command(settings_command.settings)
main.add_command(sandbox.sandbox_group)
main.add_command(rehearse_cli.rehearse)
main.add_command(relay_cli.relay)
main.add_command(dns_cli.dns_command)
main.add_command(probe_account.probe_account_group)
main.add_command(backup.backup_group)
main.add_command(backup.restore)
