"""Where jobs run: in this process, in a pool of local processes, or as a Slurm job array.

All three call :func:`rpmbench.experiments.cell.run_job`, which is idempotent (a finished job returns its
published result), so any of them can be interrupted and rerun.

- ``local``: sequentially here, each job with its own progress bar under the grid's bar.
- ``processes``: a ``ProcessPoolExecutor`` (spawn) of ``workers`` processes, each limited to
  ``available_cpus() // workers`` torch threads so the pool does not oversubscribe the cores.

CPU results are bit-identical across executors only at the same torch thread count (the order of
floating-point reductions depends on it); ``threads`` fixes it for local and process runs.
- ``slurm``: submitit; one array task per job. :class:`CellTask` is ``Checkpointable``: on
  preemption or timeout submitit calls ``checkpoint()``, which requeues the same job; the rerun
  resumes training from the job's last checkpoint in its work dir.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from rpmbench.cpus import available_cpus
from rpmbench.errors import BackendUnavailableError, ConfigError, WorkerLostError
from rpmbench.experiments.cell import CellJob, RunContext, run_job

EXECUTORS: tuple[str, ...] = ("local", "processes", "slurm")


@dataclass(frozen=True)
class SlurmOptions:
    """submitit parameters for ``--executor slurm`` (``cluster`` local/debug is for testing)."""

    folder: str = "results/slurm/%j"
    partition: str | None = None
    gpus_per_node: int = 1
    cpus_per_task: int = 8
    mem_gb: int = 32
    timeout_min: int = 240
    array_parallelism: int = 32
    cluster: str | None = None  # None: auto (Slurm); "local" or "debug" run without Slurm


@dataclass(frozen=True)
class ExecutorOptions:
    """How to run the jobs of one grid."""

    name: str = "local"
    workers: int = 2
    threads: int | None = None  # torch threads per job; None: the CPUs this process may use / workers
    slurm: SlurmOptions = SlurmOptions()

    def validate(self) -> None:
        """ConfigError for an unknown executor or an impossible worker/thread count."""
        if self.name not in EXECUTORS:
            raise ConfigError(f"unknown executor {self.name!r}; choose from {', '.join(EXECUTORS)}")
        if self.workers < 1:
            raise ConfigError(f"--workers {self.workers}: use at least 1")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads {self.threads}: use at least 1")


Payloads = list[dict[str, Any]]
OnResult = Callable[[CellJob, Payloads], None]


def execute(jobs: Sequence[CellJob], context: RunContext, options: ExecutorOptions,
            on_result: OnResult | None = None) -> list[Payloads]:
    """Run ``jobs`` (in order of submission) and return their result payloads in job order."""
    options.validate()
    runner = {"local": _run_local, "processes": _run_processes, "slurm": _run_slurm}[options.name]
    bar = tqdm(total=len(jobs), desc="grid", unit="job", disable=not context.work.progress,
               dynamic_ncols=True)
    results: dict[int, Payloads] = {}

    def done(index: int, payload: Payloads) -> None:
        results[index] = payload
        bar.set_postfix_str(jobs[index].label, refresh=False)
        bar.update(1)
        if on_result is not None:
            on_result(jobs[index], payload)

    try:
        runner(jobs, context, options, done)
    finally:
        bar.close()
    return [results[index] for index in range(len(jobs))]


def _run_local(jobs: Sequence[CellJob], context: RunContext, options: ExecutorOptions,
               done: Callable[[int, Payloads], None]) -> None:
    threads = options.threads or available_cpus()
    context = dataclasses.replace(context, work=dataclasses.replace(context.work, threads=threads))
    for index, job in enumerate(jobs):
        done(index, run_job(job, context))


def _run_processes(jobs: Sequence[CellJob], context: RunContext, options: ExecutorOptions,
                   done: Callable[[int, Payloads], None]) -> None:
    # Per-job bars from several processes would interleave; the grid bar is the progress display.
    threads = options.threads or max(1, available_cpus() // options.workers)
    quiet = dataclasses.replace(context, work=dataclasses.replace(context.work, progress=False, threads=threads))
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=options.workers, mp_context=multiprocessing.get_context("spawn"),
    ) as pool:
        futures = {pool.submit(run_job, job, quiet): index for index, job in enumerate(jobs)}
        finished: set[int] = set()
        try:
            for future in concurrent.futures.as_completed(futures):
                try:
                    payloads = future.result()
                except concurrent.futures.process.BrokenProcessPool as error:
                    unfinished = ", ".join(job.label for index, job in enumerate(jobs) if index not in finished)
                    raise WorkerLostError(
                        "a worker process of the grid ended abruptly (killed by a signal, or out of memory); "
                        f"unfinished jobs: {unfinished}. Finished results are kept and unfinished ones left "
                        "no result behind: rerun the same command to resume") from error
                done(futures[future], payloads)
                finished.add(futures[future])
        except BaseException:
            for future in futures:
                future.cancel()
            raise


try:  # submitit is the optional 'slurm' extra; without it only the local executors exist
    from submitit.helpers import Checkpointable, DelayedSubmission
except ImportError:  # pragma: no cover - exercised only without the extra
    Checkpointable = object  # type: ignore[assignment,misc]


class CellTask(Checkpointable):
    """A picklable submitit callable running one job; requeued on preemption or timeout."""

    def __call__(self, job: CellJob, context: RunContext) -> Payloads:
        """Run (or resume) ``job``."""
        return run_job(job, context)

    def checkpoint(self, job: CellJob, context: RunContext) -> DelayedSubmission:
        """Requeue the same job: training resumes from its last checkpoint in the work dir."""
        return DelayedSubmission(CellTask(), job, context)


def _slurm_executor(options: SlurmOptions) -> Any:
    try:
        import submitit
    except ImportError as error:
        raise BackendUnavailableError(
            "--executor slurm needs submitit: python -m pip install -e '.[slurm]'") from error
    executor = submitit.AutoExecutor(folder=options.folder, cluster=options.cluster)
    parameters: dict[str, Any] = {"timeout_min": options.timeout_min, "name": "rpmbench-grid"}
    if executor.cluster == "slurm":
        parameters.update(slurm_partition=options.partition, gpus_per_node=options.gpus_per_node,
                          cpus_per_task=options.cpus_per_task, mem_gb=options.mem_gb,
                          slurm_array_parallelism=options.array_parallelism)
    executor.update_parameters(**{k: v for k, v in parameters.items() if v is not None})
    return executor


def _run_slurm(jobs: Sequence[CellJob], context: RunContext, options: ExecutorOptions,
               done: Callable[[int, Payloads], None]) -> None:
    executor = _slurm_executor(options.slurm)
    quiet = dataclasses.replace(context, work=dataclasses.replace(context.work, progress=False,
                                                                  threads=options.threads))
    submitted = executor.map_array(CellTask(), list(jobs), [quiet] * len(jobs))
    if submitted:
        print(f"submitted {len(submitted)} job(s): {submitted[0].job_id.split('_')[0]} "
              f"(logs under {options.slurm.folder})")
    pending = dict(enumerate(submitted))
    while pending:
        for index, job in list(pending.items()):
            if job.done():
                done(index, job.result())
                del pending[index]
        if pending:
            time.sleep(2.0)
