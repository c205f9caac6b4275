"""``python -m kinelift``: the command line."""

from kinelift.cli import entry_point

entry_point()
