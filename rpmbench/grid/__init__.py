"""Table 2's ablation grid: cells, presets, one-cell runs, executors and the rendered table.

- :mod:`~rpmbench.grid.spec`: the cell spec (hashed), paths and execution settings (not hashed);
- :mod:`~rpmbench.grid.presets` / :mod:`~rpmbench.grid.overrides`: smoke/quick/paper configs;
- :mod:`~rpmbench.grid.plan`: config -> one spec per result (registry entry x backbone x seed, baselines);
- :mod:`~rpmbench.grid.cell`: :func:`run_cell`, the spine: train -> propagate -> score -> one result;
- :mod:`~rpmbench.grid.reference`: committed reference runs and the environment notes of the table;
- :mod:`~rpmbench.grid.executors`: local, process pool, Slurm (submitit);
- :mod:`~rpmbench.grid.table`: ``table2.csv`` and ``table2.md``;
- :mod:`~rpmbench.grid.runner`: all of it for ``python -m rpmbench run-grid``.
"""
