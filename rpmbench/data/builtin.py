"""The built-in data sets, generated on demand into a cache folder (no download needed).

Four generators (:data:`GENERATORS`): ``affine`` (:mod:`rpmbench.data.synthetic`, rigid photo
sprites on affine paths; the set of the first results), ``deform`` (:mod:`rpmbench.data.deform`,
articulated deforming objects, camera motion, blur, distractors; its DIS motion profile matches
real DAVIS when measured at a 480-pixel height) and ``calibrated`` (:mod:`rpmbench.data.calibrated`,
the ``deform`` scenes with motion matched to real DAVIS in feature pixels at every size, disjoint
train / val footage, no shot cuts, 32 val sequences; version 2, ``calibrated2``, has a continuous
tail of fast motion and 32 train sequences). Every set stores exact ground-truth flow.
The frames and masks of ``affine`` and ``deform`` are those of format version 1; the cache
folder names carry the format version, so caches written before the flow are not reused.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path

from rpmbench.data import calibrated, deform, synthetic
from rpmbench.data.synthetic import FORMAT_VERSION, builtin_clip_paths
from rpmbench.errors import DataError

__all__ = ["DEFAULT_GENERATOR", "GENERATORS", "builtin_clip_paths", "cache_dir", "ensure_builtin_dataset"]

# generator name -> (make_dataset(out, seed=, size=, progress=), cache folder prefix)
GENERATORS = {
    "affine": (synthetic.make_dataset, ""),
    "deform": (deform.make_dataset, f"deform{deform.VERSION}-"),
    **{calibrated.generator_name(version): (functools.partial(calibrated.make_dataset, version=version),
                                            f"calibrated{version}-") for version in calibrated.KNOBS},
}
DEFAULT_GENERATOR = calibrated.generator_name(calibrated.LATEST)  # what `make-data` writes with no options


def cache_dir() -> Path:
    """``$RPMBENCH_CACHE``, else ``~/.cache/rpmbench``."""
    return Path(os.environ.get("RPMBENCH_CACHE", Path.home() / ".cache" / "rpmbench"))


def ensure_builtin_dataset(size: str = "small", seed: int = 0, cache: str | os.PathLike[str] | None = None,
                           progress: bool = True, generator: str = "affine") -> Path:
    """The DAVIS-layout root of the built-in data set, generating it on first use.

    Generation goes to a temporary folder renamed into place, so the cache never holds half a data
    set; when two processes race, the second discards its copy and uses the first one's.
    ``generator`` picks the set (:data:`GENERATORS`).
    """
    if generator not in GENERATORS:
        raise DataError(f"unknown built-in generator {generator!r}; choose one of {tuple(GENERATORS)}")
    make_dataset, prefix = GENERATORS[generator]
    folder = Path(cache) if cache else cache_dir()
    final = folder / f"{prefix}{size}-seed{seed}-v{FORMAT_VERSION}"
    if final.is_dir():
        return final
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=folder))
    try:
        make_dataset(scratch / "data", seed=seed, size=size, progress=progress)
        try:
            os.rename(scratch / "data", final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final
