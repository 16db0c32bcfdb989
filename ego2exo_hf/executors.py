"""Where the benchmark's cells run: a local pool, Ray tasks or SLURM jobs (submitit). Each runs the same unit,
`cells.run_cell`, and reports under one progress bar; the engines are the `cluster` extra."""

from dataclasses import dataclass

from .errors import Ego2ExoError

EXECUTORS = ("local", "ray", "slurm")
ENGINES = {"ray": "ray", "slurm": "submitit"}
EXTRA = 'pip install -e ".[cluster]"'


@dataclass
class ExecutorSettings:
    """How and where the cells run (`ego2exo benchmark --executor ...`)."""

    executor: str = "local"
    jobs: int = 1  # local: runs at a time; ray without --ray_address: the CPUs of the local Ray
    cpus_per_run: int = 1
    gpus_per_run: float = 0.0  # ray: fractions share a GPU
    ray_address: str | None = None
    slurm_partition: str | None = None
    slurm_time: int = 60  # minutes
    slurm_gpus_per_run: int = 0
    slurm_folder: str | None = None  # submitit's logs; default <output_dir>/slurm
    slurm_cluster: str | None = None  # None: SLURM; "local": submitit's local executor (tests, one machine)

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise Ego2ExoError(f"--executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.gpus_per_run < 0 or self.cpus_per_run < 1:
            raise Ego2ExoError("--cpus_per_run must be at least 1 and --gpus_per_run at least 0")
        if self.executor in ENGINES:
            _engine(ENGINES[self.executor], self.executor)  # before any work: without the extra, say what brings it


def _engine(name: str, executor: str):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise Ego2ExoError(f"--executor {executor} needs the {name} package: {EXTRA} (or pip install {name})") from None


def _progress(total: int, done: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc="benchmark cells", unit="cell")


def _count(bar, outcome, failures) -> None:
    if outcome["returncode"] != 0:
        failures.append(outcome)
        bar.set_postfix(failed=len(failures))
    bar.update(1)


def run_local(todo, total, settings: ExecutorSettings) -> list[dict]:
    """`settings.jobs` cells at a time in threads, each waiting on its own training process; the processes fork from
    one that imported the video stage once (`cells.cell_launcher`)."""
    import contextlib
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from .cells import cell_launcher, run_cell, stop_live_runs

    failures, bar = [], _progress(total, total - len(todo))
    pool = ThreadPoolExecutor(max_workers=settings.jobs)
    with cell_launcher() if todo else contextlib.nullcontext() as launcher:
        try:
            for future in as_completed([pool.submit(run_cell, run, launcher) for run in todo]):
                _count(bar, future.result(), failures)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            stop_live_runs()
            raise
        finally:
            bar.close()
    pool.shutdown()
    return failures


def run_ray(todo, total, settings: ExecutorSettings) -> list[dict]:
    """One Ray task per cell (`cpus_per_run`, `gpus_per_run` resources), on `ray_address` or a local Ray. A worker
    forks its cells from its own launcher (`cells.run_cell_in_worker`): the stage is imported once per worker."""
    ray = _engine("ray", "ray")
    from .cells import run_cell_in_worker

    started = not ray.is_initialized()
    if started:
        local = {} if settings.ray_address else {"num_cpus": settings.jobs, "include_dashboard": False}
        ray.init(address=settings.ray_address, log_to_driver=False, **local)
    failures, bar, pending = [], _progress(total, total - len(todo)), []
    try:
        resources = {"num_cpus": settings.cpus_per_run, "num_gpus": settings.gpus_per_run}
        task = ray.remote(**resources, max_retries=0)(run_cell_in_worker)
        runs = {task.remote(run): run for run in todo}
        pending = list(runs)
        print(f"ray job {ray.get_runtime_context().get_job_id()}: {len(pending)} tasks (follow with `ray list tasks`)")
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                outcome = ray.get(ready[0])
            except ray.exceptions.RayError:  # its worker died (killed, node lost): this cell failed, the others go on
                run = runs[ready[0]]
                outcome = {"key": run["key"], "returncode": 1, "log": run["log"]}
            _count(bar, outcome, failures)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        bar.close()
        if started:
            ray.shutdown()
    return failures


def run_slurm(todo, total, settings: ExecutorSettings, folder) -> list[dict]:
    """One SLURM array job of the cells through submitit (`cluster="local"`: the same jobs as local processes)."""
    import time

    submitit = _engine("submitit", "slurm")
    from .cells import run_cell

    executor = submitit.AutoExecutor(folder=str(settings.slurm_folder or folder), cluster=settings.slurm_cluster)
    gpus = {"slurm_gpus_per_node": settings.slurm_gpus_per_run} if settings.slurm_gpus_per_run else {}
    partition = {"slurm_partition": settings.slurm_partition} if settings.slurm_partition else {}
    executor.update_parameters(timeout_min=settings.slurm_time, cpus_per_task=settings.cpus_per_run,
                               slurm_array_parallelism=max(settings.jobs, 1), **partition, **gpus)  # fmt: skip
    failures, bar = [], _progress(total, total - len(todo))
    jobs = executor.map_array(run_cell, todo) if todo else []
    if jobs:
        print(f"slurm job {jobs[0].job_id.split('_')[0]}: {len(jobs)} array tasks, logs in {executor.folder} "
              "(follow with `squeue` / `sacct`)")  # fmt: skip
    try:
        waiting = list(zip(jobs, todo))
        while waiting:
            for job, run in [entry for entry in waiting if entry[0].done()]:
                waiting.remove((job, run))
                try:
                    outcome = job.result()
                except Exception:  # the job died (cancelled, out of time, node failure): its own log says why
                    outcome = {"key": run["key"], "returncode": 1, "log": str(job.paths.stderr)}
                _count(bar, outcome, failures)
            time.sleep(0.5)
    except BaseException:
        for job, _ in waiting:
            job.cancel(check=False)
        raise
    finally:
        bar.close()
    return failures


def execute(todo: list[dict], total: int, settings: ExecutorSettings, folder) -> list[dict]:
    """Run the cells `todo` (of `total`) with the chosen executor; returns the failed cells' outcomes."""
    if settings.executor == "ray":
        return run_ray(todo, total, settings)
    if settings.executor == "slurm":
        return run_slurm(todo, total, settings, folder)
    return run_local(todo, total, settings)
