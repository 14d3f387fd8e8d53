"""The transcription of the paper's Table 2 agrees with the seed text, number for number."""

import re
from pathlib import Path

import pytest

from rpmbench.paper import paper_table2
from rpmbench.registry import BACKBONES

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "000_0bfe0ac91ff4674d.txt"


def _seed_rows() -> list[tuple[str, int, int, int, list[float]]]:
    """Parse Table 2's data lines from the seed: (type, kernel, dilation, layers, 8 numbers)."""
    rows = []
    pattern = re.compile(r"^(?:Matching Module\s+)?(Deformable|Standard|Dilated)\s+(\d)/(\d)\s+(\d)\s+(.*)$")
    for line in SEED.read_text().splitlines():
        match = pattern.match(line.strip())
        if match:
            numbers = [float(x) for x in re.findall(r"\d+\.\d", match.group(5))]
            rows.append((match.group(1).lower(), int(match.group(2)), int(match.group(3)),
                         int(match.group(4)), numbers))
    return rows


@pytest.mark.skipif(not SEED.is_file(), reason="the seed text is not beside this checkout")
def test_table2_matches_seed() -> None:
    seed_rows = _seed_rows()
    assert len(seed_rows) == 7
    table = paper_table2().set_index(["matching", "kernel_size", "dilation", "layers", "backbone"])
    assert len(table) == 28
    for matching, kernel, dilation, layers, numbers in seed_rows:
        assert len(numbers) == 8
        for index, backbone in enumerate(BACKBONES):
            row = table.loc[(matching, kernel, dilation, layers, backbone)]
            assert (row["J"], row["F"]) == (numbers[2 * index], numbers[2 * index + 1])
