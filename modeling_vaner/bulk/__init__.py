"""Tagging corpora of any size (`vaner predict --output DIR`): the input files, read lazily, are cut into shards of
consecutive documents; each shard is tagged into its own output file, renamed into place when complete, beside a
`manifest.json`; `--resume` goes on where a run stopped. The shards run in this process, in `--workers` processes
on one machine, or on a Ray cluster (`--engine ray`), and the output is the same file for file."""

from dataclasses import asdict
from pathlib import Path

from .job import Job, ShardCounts, TaggingOptions, holding_the_folder, tag_shard
from .local import run_in_process, run_workers
from .progress import Progress
from .ray_engine import run_ray
from .shards import Shard, expand_inputs, plan_shards

ENGINES = ("local", "ray")


def tag_corpus(
    inputs: str,
    output_dir: str | Path,
    options: TaggingOptions,
    input_format: str = "auto",
    shard_size: int = 1000,
    resume: bool = False,
    workers: int = 1,
    engine: str = "local",
    ray_options: dict | None = None,
    show_progress: bool = True,
) -> dict:
    """Tag every document of `inputs` (a file, folder or glob) into `output_dir`; returns the run's summary (also
    written into the manifest). Errors in the input are raised (`InputError`, naming file and line) before any
    model loads."""
    files = expand_inputs(inputs, exclude=Path(output_dir))  # never the run's own output, on a resume
    shards = plan_shards(files, input_format, shard_size, options.output_format)
    settings = {**asdict(options), "input_format": input_format, "shard_size": shard_size}
    for where in ("device", "threads", "batch_size"):  # how it runs: a resumed run may change them
        settings.pop(where)
    with holding_the_folder(Path(output_dir)):
        return run_job(
            Job.open(output_dir, shards, settings, resume), options, engine, workers, ray_options, show_progress
        )


def run_job(job: Job, options: TaggingOptions, engine: str, workers: int, ray_options, show_progress: bool) -> dict:
    """Tag `job`'s pending shards where `engine` and `workers` say; returns (and records) the run's summary."""
    pending = job.pending()
    progress = Progress(
        total=sum(shard.documents for shard in pending),
        shards=len(job.shards),
        skipped_shards=len(job.shards) - len(pending),
        enabled=show_progress,
    )
    try:
        if engine == "ray":
            run_ray(job, options, progress, **(ray_options or {}))
        elif workers > 1:
            run_workers(job, options, progress, workers)
        elif pending:
            run_in_process(job, options, progress)
    except BaseException:  # Ctrl-C or an error: the bar's last line comes before the command's message
        progress.bar.close()
        raise
    summary = {**progress.close(), "engine": engine, "workers": workers if engine == "local" else None}
    if not pending and job.summary is not None:  # a finished run resumed: nothing was done, its summary stands
        return job.summary
    job.write_manifest(summary)
    return summary


__all__ = [
    "ENGINES",
    "Job",
    "Progress",
    "Shard",
    "ShardCounts",
    "TaggingOptions",
    "expand_inputs",
    "plan_shards",
    "tag_corpus",
    "tag_shard",
]
