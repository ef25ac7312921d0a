"""What the audit's commands share: one-line errors, exit, and the command line for reports."""

from __future__ import annotations

import shlex
import sys

import click

from . import EXIT_ERROR


def error(message: str) -> None:
    """Print ``fuzzypeople: error: MESSAGE`` on one line to stderr."""
    click.echo(f"fuzzypeople: error: {' '.join(str(message).split())}", err=True)


def fail(message: str, code: int = EXIT_ERROR):
    """Print the error and exit with ``code``."""
    error(message)
    sys.exit(code)


def command_line() -> str:
    """The command as typed, quoted, for the reports."""
    return " ".join(shlex.quote(a) for a in ["fuzzypeople", *sys.argv[1:]])
