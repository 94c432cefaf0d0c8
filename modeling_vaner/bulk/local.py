"""One machine: the pending shards tagged in this process, or by `workers` processes that each load the model once
and take the next shard from a shared queue (one per GPU with `--device cuda`, each pinned to its own)."""

import multiprocessing
import os
import queue as queues
from pathlib import Path

from ..errors import VanerError
from .job import Job, ShardCounts, TaggingOptions, tag_shard
from .progress import Progress


def worker_device(options: TaggingOptions, worker: int, gpus: int) -> str | None:
    """Worker `worker`'s device: with `--device cuda`, GPU `worker` (one each); with `auto` on a machine with
    `gpus` GPUs, they are shared out in turn; else the device asked for."""
    if options.device in ("cuda", "gpu"):
        return f"cuda:{worker}"
    if options.device in (None, "auto") and gpus:
        return f"cuda:{worker % gpus}"
    return options.device


def cpu_threads(workers: int) -> int:
    """Torch threads per worker process on CPU: the cores shared out, at least one each."""
    return max(1, (os.cpu_count() or 1) // workers)


def run_in_process(job: Job, options: TaggingOptions, progress: Progress) -> None:
    tagger, linker = options.load()
    for shard in job.pending():
        counts = tag_shard(tagger, linker, shard, options, job.output_dir, on_document=progress.advance)
        job.finish_shard(shard, counts)
        progress.shard_done(counts)


def run_workers(job: Job, options: TaggingOptions, progress: Progress, workers: int) -> None:
    """Tag the pending shards with `workers` processes. The first error stops them all and is raised here; the
    shards finished by then stay finished."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked torch threads or CUDA state
    tasks, events = context.Queue(), context.Queue()
    pending = {shard.output: shard for shard in job.pending()}
    for shard in pending.values():
        tasks.put(shard)
    processes = [
        context.Process(
            target=work, args=(index, workers, options, str(job.output_dir), tasks, events, os.getpid()), daemon=True
        )
        for index in range(workers)
    ]
    for process in processes:
        tasks.put(None)  # one stop sign per worker, after the shards
        process.start()
    try:
        while pending:
            kind, *payload = next_event(events, processes)
            if kind == "progress":
                progress.advance(*payload)
            elif kind == "shard":
                output, counts = payload
                job.finish_shard(pending.pop(output), ShardCounts(**counts))
                progress.shard_done(ShardCounts(**counts))
            else:
                raise VanerError(f"worker {payload[0]}: {payload[1]}")
    finally:
        for process in processes:
            if pending and process.is_alive():  # stopped by an error or an interrupt: the rest stop too
                process.terminate()
            process.join()


def next_event(events, processes) -> tuple:
    """The next message from a worker; a worker that died without one (killed, out of memory) is an error."""
    while True:
        try:
            return events.get(timeout=1.0)
        except queues.Empty:
            for index, process in enumerate(processes):
                if process.exitcode not in (None, 0):
                    return ("error", index, f"stopped with exit code {process.exitcode}")


def work(index, workers, options, output_dir, tasks, events, parent) -> None:
    """A worker process: load the model once, then tag shards from `tasks` until the stop sign."""
    import torch

    def report(documents, words):
        if os.getppid() != parent:  # the run was killed: stop, leaving this shard (never renamed) for --resume
            raise SystemExit(1)
        events.put(("progress", documents, words))

    try:
        device = worker_device(options, index, torch.cuda.device_count())
        tagger, linker = options.load(device, options.threads or cpu_threads(workers))
        while (shard := tasks.get()) is not None:
            counts = tag_shard(tagger, linker, shard, options, Path(output_dir), on_document=report)
            events.put(("shard", shard.output, vars(counts)))
    except Exception as error:  # noqa: BLE001 - any failure goes to the parent, which stops the run and names it
        events.put(("error", index, f"{type(error).__name__}: {error}"))
