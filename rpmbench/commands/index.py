"""``python -m rpmbench index``: the provenance index of every committed number."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "index every committed number: file, command, hardware, versions, seed, commit (results/INDEX.md)"
DESCRIPTION = """\
Reads every result JSON under the results folder (Table 2 cells, learning curves, evidence and
protocol studies, data profiles, benchmarks; run-grid's gitignored runs/ excepted) and prints a
Markdown index: for each committed number its file, the command that made it (the result's own
record, or its folder's README for results made before commands were recorded), processor or GPU,
torch threads, library versions, seed and commit. Results without the newer fields are indexed
with "not recorded" in their place. The output depends on the files alone, so the committed
results/INDEX.md can be checked: a test fails when it is stale. After adding or changing results,
regenerate it with --write and commit it.

examples:
  python -m rpmbench index                 # print the index
  python -m rpmbench index --write         # rewrite <results>/INDEX.md (the committed index)
  python -m rpmbench index --check         # exit status 1 if <results>/INDEX.md is stale
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, default=Path("results"), dest="results_root", metavar="DIR",
                        help="the results folder to index (read; default: results)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the index to <results>/INDEX.md")
    mode.add_argument("--check", action="store_true",
                      help="compare <results>/INDEX.md with the index of the files now; exit 1 if it differs")


def run(args: argparse.Namespace) -> int:
    from rpmbench.atomic import atomic_path
    from rpmbench.errors import DataError
    from rpmbench.experiments.index import INDEX_NAME, WRITE_COMMAND, build_index

    root = args.results_root
    if not root.is_dir():
        raise DataError(f"{root}: no such results folder; pass --results DIR (run from the checkout's root)")
    text = build_index(root)
    path = root / INDEX_NAME
    if args.check:
        if path.is_file() and path.read_text() == text:
            print(f"{path} is up to date")
            return 0
        print(f"{path} is stale (or missing): regenerate it with `{WRITE_COMMAND}` and commit it", file=sys.stderr)
        return 1
    if args.write:
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        print(f"wrote {path}")
        return 0
    sys.stdout.write(text)
    return 0
