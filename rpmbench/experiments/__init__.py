"""Table 2's ablation grid: cells, presets, one-cell runs, executors and the rendered table.

- :mod:`~rpmbench.experiments.spec`: the cell spec (hashed), paths and execution settings (not hashed);
- :mod:`~rpmbench.experiments.presets` / :mod:`~rpmbench.experiments.overrides`: smoke/quick/paper configs;
- :mod:`~rpmbench.experiments.plan`: config -> one spec per result (registry entry x backbone x seed, baselines);
- :mod:`~rpmbench.experiments.cell`: :func:`run_cell`, the spine: train -> propagate -> score -> one result;
- :mod:`~rpmbench.experiments.reference`: committed reference runs and the environment notes of the table;
- :mod:`~rpmbench.experiments.executors`: local, process pool, Slurm (submitit);
- :mod:`~rpmbench.experiments.table`: ``table2.csv`` and ``table2.md``;
- :mod:`~rpmbench.experiments.runner`: all of it for ``python -m rpmbench run-grid``.
"""
