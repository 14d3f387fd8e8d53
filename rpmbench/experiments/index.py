"""The provenance index: every committed number beside the file, command, hardware, versions,
seed and commit that made it (``results/INDEX.md``, written by ``python -m rpmbench index --write``).

It reads every JSON under ``results/`` (run-grid's gitignored ``runs/`` and ``slurm/`` excepted)
and sorts each by its content: Table 2 cells (``metrics``), learning curves
(``jf_by_variant_and_step``), studies with per-method ``rows`` (``train --evidence-seeds``, the
protocols study), data profiles (``baselines``) and, without numbers, every other file
(benchmarks, data-set descriptions, results of kinds added later). Every field is optional: results
written before a field existed are indexed with "not recorded" in its place.

The command is the result's own (``provenance.command``, or ``command``) where it recorded one;
otherwise the folder's README's (the command on the README line that names the file, or the first
command under the heading that names it, else the README's first command), marked ``README``.
The output depends on the files alone (no clock, no machine, no git call), so the committed index
can be checked against a fresh one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rpmbench.experiments.reference import HEADLINE_LIBRARIES

INDEX_NAME = "INDEX.md"
#: The command that regenerates the committed index (named in its header and in the test).
WRITE_COMMAND = "python -m rpmbench index --write"
#: Gitignored folders under results/: scratch, never committed.
SCRATCH = ("runs", "slurm")
NOT_RECORDED = "not recorded"
_COMMAND = "python -m rpmbench"
_THREADS = re.compile(r"(\d+) torch threads")


@dataclass
class _Ids:
    """Short ids (``E1``, ``C1`` ...) for values in order of first appearance."""

    prefix: str
    values: dict[Any, str] = field(default_factory=dict)

    def __call__(self, value: Any) -> str:
        return self.values.setdefault(value, f"{self.prefix}{len(self.values) + 1}")


@dataclass
class _Context:
    """Environments and commands met so far; the results root (for READMEs and file names)."""

    root: Path
    environments: _Ids = field(default_factory=lambda: _Ids("E"))
    commands: _Ids = field(default_factory=lambda: _Ids("C"))

    def name(self, path: Path) -> str:
        """``results/quick/cells/x.json``: the path from the results folder's name on."""
        return f"{self.root.name}/{path.relative_to(self.root).as_posix()}"


def result_files(root: Path) -> list[Path]:
    """Every JSON under ``root`` but its scratch folders, sorted."""
    return sorted(path for path in root.rglob("*.json")
                  if path.relative_to(root).parts[0] not in SCRATCH)


def provenance_of(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """A result's provenance: its ``provenance`` section, or the payload itself (benchmarks and
    older studies keep the fields at the top level)."""
    provenance = payload.get("provenance")
    return provenance if isinstance(provenance, Mapping) else payload


def hardware(provenance: Mapping[str, Any]) -> tuple[str, str]:
    """(where it ran, torch threads): the GPU (and CPU) or the processor; threads from the ``cpu``
    section, or parsed from older results' ``device_name``."""
    cpu = provenance.get("cpu") if isinstance(provenance.get("cpu"), Mapping) else {}
    name = str(provenance.get("device_name", ""))
    threads = cpu.get("torch_threads")
    if threads is None and (match := _THREADS.search(name)):
        threads = int(match.group(1))
    processor = cpu.get("processor") or name.split(" (")[0]
    if str(provenance.get("device", "cpu")).startswith("cuda"):
        where = f"{name} (CPU: {cpu['processor']})" if cpu.get("processor") else name
    else:
        where = processor
    return where or NOT_RECORDED, NOT_RECORDED if threads is None else str(threads)


def environment(provenance: Mapping[str, Any]) -> tuple[str, ...]:
    """Hardware, threads and the headline library versions (``-`` where not recorded)."""
    versions = provenance.get("versions") if isinstance(provenance.get("versions"), Mapping) else {}
    return (*hardware(provenance), *(str(versions.get(name, "-")) for name in HEADLINE_LIBRARIES))


def short_commit(provenance: Mapping[str, Any]) -> str:
    """The recorded commit's first 7 hex digits (``-dirty`` kept), or ``not recorded``."""
    commit = str(provenance.get("git_commit") or "")
    if not commit:
        return NOT_RECORDED
    sha, dirty, _ = commit.partition("-dirty")
    return sha[:7] + ("-dirty" if dirty else "")


# --- the command of a result: recorded, or its folder's README's ---------------------------------


def _expand(text: str) -> list[str]:
    """Shell-style brace expansion of one ``{a,b}`` group (``s{0,1}.json`` -> ``s0.json``, ``s1.json``)."""
    match = re.search(r"\{([^{}]*,[^{}]*)\}", text)
    if not match:
        return [text]
    return [expanded for option in match.group(1).split(",")
            for expanded in _expand(text[:match.start()] + option + text[match.end():])]


def _names_file(line: str, name: str) -> bool:
    """Whether a README line names the file ``name`` in backticks (brace groups expanded)."""
    return any(candidate == name or candidate.endswith("/" + name)
               for span in re.findall(r"`([^`]+)`", line) for candidate in _expand(span))


@dataclass(frozen=True)
class _Block:
    """A README code command (``code``) or a prose paragraph, table row or heading (its commands:
    the ``python -m rpmbench`` spans in backticks)."""

    line: int
    text: str
    code: bool

    @property
    def commands(self) -> list[str]:
        if self.code:
            return [self.text]
        return [span for span in re.findall(r"`([^`]+)`", self.text) if span.startswith(_COMMAND)]

    @property
    def heading(self) -> bool:
        return not self.code and self.text.startswith("#")


def _blocks(lines: Sequence[str]) -> list[_Block]:
    """A README's code commands (indented or fenced; ``\\`` continuations joined, comments dropped)
    and prose paragraphs (lines joined; headings and table rows on their own)."""
    blocks: list[_Block] = []
    paragraph: list[str] = []
    fenced = False

    def close(at: int) -> None:
        if paragraph:
            blocks.append(_Block(at - len(paragraph), " ".join(paragraph), False))
            paragraph.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith("```"):
            close(index)
            fenced = not fenced
        elif fenced or line.startswith("    "):
            close(index)
            if _COMMAND in line:
                start, text = index, line[line.index(_COMMAND):]
                while text.rstrip().endswith("\\") and index + 1 < len(lines):
                    index += 1
                    text = text.rstrip()[:-1].rstrip() + " " + lines[index].strip()
                blocks.append(_Block(start, text.split("  #")[0].strip(), True))
        elif not line.strip() or line.startswith(("#", "|")):
            close(index)
            if line.strip():
                blocks.append(_Block(index, line.strip(), False))
        else:
            paragraph.append(line.strip())
        index += 1
    close(index)
    return blocks


def readme_command(readme: Path, name: str) -> str | None:
    """The command a README gives for the file ``name``: one that names the file; else the
    commands of the paragraph or table row naming it; else the first code command after that
    paragraph, before the next heading; else the README's first code command, else its first
    command in backticks; None without any."""
    blocks = _blocks(readme.read_text().splitlines())
    commands = [(block, command) for block in blocks for command in block.commands]
    if not commands:
        return None
    stem = Path(name).stem
    for _, command in commands:
        if name in command or f"{stem}.csv" in command:
            return command
    for number, block in enumerate(blocks):
        if block.code or not _names_file(block.text, name):
            continue
        if block.commands:
            return " && ".join(block.commands)
        for later in blocks[number + 1:]:
            if later.heading:
                break
            if later.code:
                return later.text
    code = [command for block, command in commands if block.code]
    return (code or [commands[0][1]])[0]


def command_of(path: Path, payload: Mapping[str, Any], context: _Context) -> tuple[str, str]:
    """(command, where it comes from: ``recorded`` or ``<folder>/README.md``) of the result at ``path``."""
    recorded = provenance_of(payload).get("command") or payload.get("command")
    if recorded:
        return str(recorded), "recorded"
    folder = path.parent
    while folder != context.root.parent:
        readme = folder / "README.md"
        if readme.is_file() and (command := readme_command(readme, path.name)):
            return command, context.name(readme)
        folder = folder.parent
    return NOT_RECORDED, "-"


# --- rows per kind of result ---------------------------------------------------------------------


def _percent(value: Any) -> str:
    """A score in [0, 1] as a percentage with 2 decimals (``-`` when missing or NaN)."""
    if not isinstance(value, (int, float)) or math.isnan(value):
        return "-"
    return f"{100 * value:.2f}"


def _mean_std(mean: Any, std: Any) -> str:
    return f"{_percent(mean)} +- {_percent(std)}" if isinstance(std, (int, float)) else _percent(mean)


def _seed(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else str(int(value))


def _seeds(payload: Mapping[str, Any]) -> str:
    seeds = payload.get("seeds")
    return ", ".join(map(str, seeds)) if isinstance(seeds, list) and seeds else "-"


def kind_of(payload: Any) -> str:
    """Which section a result file belongs to: ``cell``, ``curves``, ``rows``, ``profile`` or ``other``."""
    if not isinstance(payload, Mapping):
        return "other"
    if isinstance(payload.get("metrics"), Mapping) and "J&F-Mean" in payload["metrics"]:
        return "cell"
    if isinstance(payload.get("jf_by_variant_and_step"), list):
        return "curves"
    rows = payload.get("rows")
    if isinstance(rows, list) and rows and all(isinstance(r, Mapping) and "J&F-Mean" in r for r in rows):
        return "rows"
    baselines = payload.get("baselines")
    if isinstance(baselines, Mapping) and baselines and all(isinstance(v, (int, float)) for v in baselines.values()):
        return "profile"
    return "other"


def _cell_rows(payload: Mapping[str, Any]) -> list[list[str]]:
    metrics = payload["metrics"]
    return [[str(payload.get("cell", "-")), str(payload.get("protocol", "-")), _seed(payload.get("seed")),
             _percent(metrics.get("J&F-Mean")), _percent(metrics.get("J-Mean")), _percent(metrics.get("F-Mean"))]]


def _curve_rows(payload: Mapping[str, Any]) -> list[list[str]]:
    rows = [[str(point.get("method", "-")), str(point.get("step", "-")), str(point.get("seeds", "-")),
             _mean_std(point.get("mean"), point.get("std"))] for point in payload["jf_by_variant_and_step"]]
    baselines = payload.get("baselines_jf") if isinstance(payload.get("baselines_jf"), Mapping) else {}
    return rows + [[name, "-", "-", _percent(value)] for name, value in sorted(baselines.items())]


def _study_rows(payload: Mapping[str, Any]) -> list[list[str]]:
    rows = [[str(row.get("method", "-")), _seed(row.get("seed")), _percent(row.get("J&F-Mean")),
             _percent(row.get("J-Mean")), _percent(row.get("F-Mean"))] for row in payload["rows"]]
    if "rpmnet_jf_mean" in payload:
        rows.append([f"rpmnet, mean +- std over seeds {_seeds(payload)}", "-",
                     _mean_std(payload["rpmnet_jf_mean"], payload.get("rpmnet_jf_std")), "-", "-"])
    summary = payload.get("summary") if isinstance(payload.get("summary"), Mapping) else {}
    for method, entry in sorted(summary.items()):
        if isinstance(entry, Mapping) and "jf_mean" in entry and entry.get("seeds", 2) > 1:
            rows.append([f"{method}, mean +- std over {entry.get('seeds', '?')} seeds", "-",
                         _mean_std(entry["jf_mean"], entry.get("jf_std")), _percent(entry.get("j_mean")),
                         _percent(entry.get("f_mean"))])
    return rows


def _profile_rows(payload: Mapping[str, Any]) -> list[list[str]]:
    return [[name, _percent(value)] for name, value in sorted(payload["baselines"].items())]


def _other_rows(payload: Any) -> list[list[str]]:
    what = payload.get("benchmark") if isinstance(payload, Mapping) else None
    return [[f"benchmark `{what}`" if what else "no J&F (description or another kind of result)"]]


@dataclass(frozen=True)
class _Section:
    title: str
    about: str
    columns: tuple[str, ...]
    rows: Any  # payload -> list of rows (the number columns)


SECTIONS: dict[str, _Section] = {
    "cell": _Section("Table 2 cells and baselines", "one result per file (`run-grid`'s `cells/`); J&F, J, F in percent",
                     ("cell", "protocol", "seed", "J&F", "J", "F"), _cell_rows),
    "curves": _Section("Learning curves", "J&F (percent) per matching variant and training step, mean +- std "
                       "over the file's seeds; then the baselines on the same data",
                       ("variant / baseline", "step", "seeds", "J&F"), _curve_rows),
    "rows": _Section("Studies with one row per method and seed",
                     "`train --evidence-seeds` and the protocols study; J&F, J, F in percent, then the file's summaries",
                     ("method", "seed", "J&F", "J", "F"), _study_rows),
    "profile": _Section("Data profiles", "the no-network baselines' J&F (percent) on each profiled set",
                        ("baseline", "J&F"), _profile_rows),
    "other": _Section("Other result files", "no J&F of their own: speed measurements, data-set descriptions, "
                      "and result kinds this index does not read yet", ("content",), _other_rows),
}


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _section_lines(kind: str, entries: Sequence[tuple[Path, Any]], context: _Context) -> list[str]:
    section = SECTIONS[kind]
    columns = ("file", *section.columns, "command", "environment", "commit")
    lines = [f"## {section.title}", "", section.about + ".", "",
             "| " + " | ".join(columns) + " |", "|" + "|".join(":--" for _ in columns) + "|"]
    for path, payload in entries:
        provenance = provenance_of(payload) if isinstance(payload, Mapping) else {}
        command = context.commands(command_of(path, payload if isinstance(payload, Mapping) else {}, context))
        where = context.environments(environment(provenance))
        commit = short_commit(provenance)
        for row in section.rows(payload):
            cells = [f"`{context.name(path)}`", *row, command, where, commit]
            lines.append("| " + " | ".join(_escape(cell) for cell in cells) + " |")
    return [*lines, ""]


def _legend_lines(context: _Context) -> list[str]:
    lines = ["## Commands", "", "| id | command | from |", "|:--|:--|:--|"]
    lines += [f"| {key} | `{_escape(command)}` | {_escape(source)} |"
              for (command, source), key in context.commands.values.items()]
    headers = ("id", "processor / GPU", "torch threads", *HEADLINE_LIBRARIES)
    lines += ["", "## Environments", "", "| " + " | ".join(headers) + " |", "|" + "|".join(":--" for _ in headers) + "|"]
    lines += ["| " + " | ".join([key, *map(_escape, values)]) + " |"
              for values, key in context.environments.values.items()]
    return [*lines, ""]


HEADER = f"""# Where every committed number comes from

Generated by `{WRITE_COMMAND}` from every result file under `results/`; do not edit it
by hand (`tests/test_results_index.py` fails when it differs from what the command writes now). Each
row is one committed number (percent): its file, the command that made it (id into **Commands**:
`recorded` is the result's own record of its command line, a README's is the command that README
gives for it, for results made before commands were recorded), where it ran (id into
**Environments**: processor or GPU, torch threads, library versions), its seed and the commit of the
code. "not recorded": the result predates that field.
"""


def build_index(root: Path) -> str:
    """The Markdown index of every result file under ``root`` (a ``results/`` folder)."""
    context = _Context(root)
    grouped: dict[str, list[tuple[Path, Any]]] = {kind: [] for kind in SECTIONS}
    for path in result_files(root):
        payload = json.loads(path.read_text())
        grouped[kind_of(payload)].append((path, payload))
    body: list[str] = []
    for kind, entries in grouped.items():
        if entries:
            body += _section_lines(kind, entries, context)
    counts = ", ".join(f"{len(entries)} {SECTIONS[kind].title.lower()}" for kind, entries in grouped.items() if entries)
    return "\n".join([HEADER, f"Files: {counts}.", "", *_legend_lines(context), *body]).rstrip() + "\n"
