"""The ``kinelift`` command line.

Examples
--------
>>> from kinelift.cli import main
>>> main(["info", "/no/such.trc"])
2
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from kinelift import __version__
from kinelift.cli import convert, demo, detect, export, fk, ik, info, lift, run, squat
from kinelift.errors import KineliftError

log = logging.getLogger("kinelift")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kinelift", description="Video and 2D keypoints to OpenSim-grade kinematics.")
    parser.add_argument("--version", action="version", version=f"kinelift {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (info, convert, detect, fk, ik, lift, squat, run, export, demo):
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input, with the error on stderr; 130 when interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2), format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except KineliftError as err:
        print(f"kinelift {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outputs are written whole or not at all: what finished is kept, a rerun resumes
        print(f"kinelift {args.command}: interrupted; finished outputs are complete, a rerun continues from them", file=sys.stderr)
        return 130


def entry_point() -> None:
    sys.exit(main())
