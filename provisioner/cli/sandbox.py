"""`mailprov sandbox up|down|status`: the local container target (the logic is in provisioner.sandbox)."""

from __future__ import annotations

import sys

import click

from provisioner.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, fail
from provisioner.sandbox import server as sandbox

release_option = click.option(
    "--release",
    type=click.Choice(sandbox.RELEASES),
    default="trixie",
    show_default=True,
    help="Debian release of the sandbox.",
)


@click.group("sandbox")
def sandbox_group() -> None:
    """A local Debian container to deploy to (state in ./.sandbox or $MAILPROV_SANDBOX_DIR).

    A second sandbox beside the demo's takes its own container name and ports
    from $MAILPROV_SANDBOX_NAME (default mailprov-sandbox) and
    $MAILPROV_SANDBOX_PORT_BASE (default 14000: trixie 14xxx, bookworm 15xxx).
    """


@sandbox_group.command("up")
@release_option
def sandbox_up(release: str) -> None:
    """Start the sandbox (building its image if needed) and write its inventory."""
    box = _box(release)
    try:
        result = sandbox.up(box)
    except sandbox.SandboxError as err:
        fail(str(err), EXIT_FAILED)
    click.echo(f"sandbox {box.name}: {'started' if result.started else 'already running'}")
    if result.demo_password:
        click.echo(f"demo mailbox {sandbox.DEMO_USER}, password: {result.demo_password}")
        click.echo("  (shown once; only its hash is stored)")
    _print_status(box)


@sandbox_group.command("down")
@release_option
def sandbox_down(release: str) -> None:
    """Remove the sandbox container (its key and inventory stay)."""
    box = _box(release)
    removed = sandbox.down(box)
    click.echo(f"sandbox {box.name}: {'removed' if removed else 'not present'}")


@sandbox_group.command("status")
@release_option
def sandbox_status(release: str) -> None:
    """Show the container's state, published ports and inventory."""
    box = _box(release)
    state = _print_status(box)
    sys.exit(0 if state == "running" else EXIT_FAILED)


def _box(release: str) -> sandbox.Sandbox:
    try:
        return sandbox.sandbox_for(release)
    except sandbox.SandboxError as err:
        fail(str(err), EXIT_BAD_INPUT)


def _print_status(box: sandbox.Sandbox) -> str | None:
    try:
        state = sandbox.container_state(box)
    except sandbox.SandboxError as err:
        fail(str(err), EXIT_FAILED)
    click.echo(f"container: {box.name} ({state or 'not present'}), image {box.image}")
    click.echo(f"inventory: {box.inventory}")
    for service, port in box.ports().items():
        click.echo(f"  {service:<12} 127.0.0.1:{port}")
    return state
