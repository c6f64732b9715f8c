"""Preparation subcommands of ``scintiseg dataset`` (``augment``, ``crop``): not yet registered (being built)."""

import argparse


def register(dataset_subparsers: argparse._SubParsersAction) -> None:
    """Add ``dataset augment`` and ``dataset crop`` to the ``dataset`` command's subparsers (none yet)."""
