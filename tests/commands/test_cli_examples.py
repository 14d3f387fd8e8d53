"""Every example command in the CLI's help texts parses with the options that exist."""

from __future__ import annotations

import argparse
import importlib
import shlex
from pathlib import Path

import pytest

import rpmbench
from rpmbench.cli import COMMANDS, EPILOG, build_parser
from rpmbench.commands.bench import BENCHMARKS


def _help_texts() -> dict[str, str]:
    texts = {"python -m rpmbench --help": EPILOG}
    for name, module in COMMANDS.items():
        texts[f"{name} --help"] = importlib.import_module(module).DESCRIPTION
    for name, module in BENCHMARKS.items():
        texts[f"bench {name} --help"] = importlib.import_module(module).DESCRIPTION
    repo = Path(rpmbench.__file__).resolve().parents[1]
    for page in [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]:
        if _examples(page.read_text()):
            texts[str(page.relative_to(repo))] = page.read_text()
    return texts


def _examples(text: str) -> list[str]:
    """The ``python -m rpmbench ...`` lines of ``text``, backslash continuations joined."""
    joined = text.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("python -m rpmbench")]


EXAMPLES = [(where, example) for where, text in _help_texts().items() for example in _examples(text)]


def test_every_command_has_examples() -> None:
    assert {where for where, _ in EXAMPLES} == set(_help_texts())


def _exact(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``parser`` and its subparsers with abbreviations off: an example must spell the option."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _exact(sub)
    return parser


@pytest.mark.parametrize(("where", "example"), EXAMPLES)
def test_help_example_parses(where: str, example: str, capsys) -> None:
    args = shlex.split(example, comments=True)[3:]
    try:
        _exact(build_parser()).parse_args(args)
    except SystemExit:
        pytest.fail(f"the example in `{where}` does not parse: {example}\n{capsys.readouterr().err}")
