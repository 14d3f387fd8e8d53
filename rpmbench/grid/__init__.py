"""Table 2's ablation grid: cells, presets, one-cell runs, executors and the rendered table.

- :mod:`~rpmbench.grid.cells`: the 28 cells, their ids and config hashes;
- :mod:`~rpmbench.grid.presets` / :mod:`~rpmbench.grid.overrides`: smoke/quick/paper configs;
- :mod:`~rpmbench.grid.plan`: config -> jobs (cell x seed, baselines) with hashes;
- :mod:`~rpmbench.grid.cell`: train -> propagate -> score -> result JSON for one job;
- :mod:`~rpmbench.grid.executors`: local, process pool, Slurm (submitit);
- :mod:`~rpmbench.grid.table`: ``table2.csv`` and ``table2.md``;
- :mod:`~rpmbench.grid.runner`: all of it for ``python -m rpmbench run-grid``.
"""
