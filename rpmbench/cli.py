"""The ``python -m rpmbench`` command line.

Each subcommand lives in its own module under :mod:`rpmbench.commands` and exposes:

- ``HELP``: one line shown in ``python -m rpmbench --help``;
- ``DESCRIPTION``: the text shown by ``python -m rpmbench <command> --help`` (with examples);
- ``add_arguments(parser)``: registers its options;
- ``run(args) -> int``: does the work and returns the exit status;
- optionally ``RESUME_FLAG``: the option that makes a rerun continue (added to the resume hint).

Modules import heavy libraries (torch, cv2) inside ``run`` so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import signal
import sys
from collections.abc import Sequence

from rpmbench import __version__
from rpmbench.errors import RpmbenchError
from rpmbench.interrupts import EXIT_STATUS, SigtermAsInterrupt, Terminated
from rpmbench.provenance import recorded_command

# Subcommand name -> module implementing it, in the order a new user meets them.
COMMANDS: dict[str, str] = {
    "make-data": "rpmbench.commands.make_data",
    "data": "rpmbench.commands.data",
    "profile-data": "rpmbench.commands.profile_data",
    "describe": "rpmbench.commands.describe",
    "train": "rpmbench.commands.train",
    "curves": "rpmbench.commands.curves",
    "reach": "rpmbench.commands.reach",
    "offsets": "rpmbench.commands.offsets",
    "figure2": "rpmbench.commands.figure2",
    "infer": "rpmbench.commands.infer",
    "baseline": "rpmbench.commands.baseline",
    "evaluate": "rpmbench.commands.evaluate",
    "run-grid": "rpmbench.commands.run_grid",
    "bench": "rpmbench.commands.bench",
    "index": "rpmbench.commands.index",
}

EPILOG = """\
typical session:
  python -m rpmbench make-data --out data/rpmbench-small     # built-in offline data set
  python -m rpmbench describe --backbone resnet101           # Table 1, read off the model
  python -m rpmbench run-grid                                # Table 2 on the built-in data
  python -m rpmbench evaluate --davis-root D --results R     # DAVIS J/F of any results folder

Run 'python -m rpmbench <command> --help' for the options of each command.
"""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per available command."""
    parser = argparse.ArgumentParser(
        prog="python -m rpmbench",
        description="Reproduce RPM-Net's Table 1, Table 2 and Figure 2: models, training, "
        "propagation and DAVIS-2017 J/F scoring.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rpmbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue  # command not implemented yet
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=module.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def resume_hint(argv: Sequence[str], signum: int, note: str = "") -> str:
    """The one line printed when signal ``signum`` ended the command ``argv``: the command that
    resumes it (with the command's ``RESUME_FLAG`` added) and ``note`` as a shell comment."""
    words = ["python", "-m", "rpmbench", *argv]
    command = next((word for word in argv if word in COMMANDS), None)
    flag = getattr(importlib.import_module(COMMANDS[command]), "RESUME_FLAG", None) if command else None
    how = "rerun the same command to resume"
    if flag and flag not in argv:
        words.append(flag)
        how = "resume with"
    what = "terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted"
    return f"{what}; {how}: {shlex.join(words)}" + (f"  # {note}" if note else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the exit status (130 on Ctrl-C, 143 on
    SIGTERM, which is handled like Ctrl-C). Results written meanwhile record the command line
    (:func:`rpmbench.provenance.recorded_command`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with SigtermAsInterrupt(), recorded_command(argv):
            args = build_parser().parse_args(argv)
            return int(args._run(args) or 0)
    except RpmbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        # Only the facts are kept: reported below, once the traceback's frames (and the progress
        # bars they held) are gone.
        signum = signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT
        note = str(interrupt)
    # Every command keeps its finished work (atomic files, checkpoints): say so, no traceback.
    print("\n" + resume_hint(argv, signum, note), file=sys.stderr)
    return EXIT_STATUS[signum]


if __name__ == "__main__":
    sys.exit(main())
