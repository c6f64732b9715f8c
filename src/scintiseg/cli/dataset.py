"""`scintiseg dataset`: not yet registered (being built)."""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's subcommands (none yet)."""
