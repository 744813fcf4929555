"""Placeholder: filled in by issue B's work (see cli/main.py _register_commands)."""

import click


def register(*groups: click.Group) -> None:
    """Add this module's commands to the given click groups."""
