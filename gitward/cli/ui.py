"""``gitward ui``: what the web UI needs that is not the controller itself."""

from __future__ import annotations

import sys

import click

from gitward.cli.exits import errors_to_exit


@click.group()
def ui() -> None:
    """The web UI the controller serves at /ui/."""


@ui.command("hash-password")
@errors_to_exit
def hash_password() -> None:
    """Print a hash of a password for the UI's users Secret (scrypt, salted).

    The password is asked twice on a terminal, or read as the first line of
    standard input. Put the hash in the Secret named by the controller's
    --ui-users-secret, under the user's name:

      kubectl -n gitward-system create secret generic gitward-ui-users \\
        --from-literal=alice="$(gitward ui hash-password)"
    """
    from gitward.errors import ConfigError
    from gitward.web.passwords import hash_password as hashed

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ConfigError("hash-password: the password is empty")
    click.echo(hashed(password))
