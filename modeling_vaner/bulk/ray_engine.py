"""Many machines: the same job as a Ray Data pipeline, on a running Ray cluster (`--ray-address`) or, without one, a
local cluster that this run starts and stops.

    read (the pending shards) -> map_batches(ShardTagger: a pool of actors, each with the model loaded once,
    `num_gpus` each on GPU) -> write (each shard into its own file, renamed into place when complete)

The actors write the shard files themselves, through the same `tag_shard` as one process, so the output is the same
file for file whatever the engine; the driver only records finished shards. Ray restarts an actor that dies and
retries its shard (Ray Data's defaults for actor pools: `max_restarts=-1`, `max_task_retries=-1`): the retry writes
the shard again from its start, and since a shard file appears only complete, nothing is lost or doubled. The input
and output folders must be visible to every node at the same paths (a shared file system)."""

from dataclasses import asdict, fields
from pathlib import Path

from ..errors import UsageError
from .job import Job, ShardCounts, TaggingOptions, tag_shard
from .progress import Progress
from .shards import Shard

COUNT_FIELDS = tuple(count.name for count in fields(ShardCounts))


class ShardTagger:
    """A Ray Data actor: loads the model once, then tags each batch's shards into their files. On a GPU actor Ray
    makes its GPU the only one visible, so `cuda` is that GPU."""

    def __init__(self, options: TaggingOptions, output_dir: str):
        self.options, self.output_dir = options, Path(output_dir)
        device = "cuda" if options.device in ("cuda", "gpu") else options.device
        self.tagger, self.linker = options.load(device)  # threads: --threads, else Ray's (the actor's CPUs)

    def __call__(self, batch: dict) -> dict:
        shards = [Shard(**dict(zip(batch, values))) for values in zip(*batch.values())]
        done = {"output": [], **{name: [] for name in COUNT_FIELDS}}
        for shard in shards:
            counts = tag_shard(self.tagger, self.linker, shard, self.options, self.output_dir)
            done["output"].append(shard.output)
            for name in COUNT_FIELDS:
                done[name].append(getattr(counts, name))
        return done


def import_ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install 'vaner[ray]' (or 'ray[data]')") from None
    return ray


def run_ray(
    job: Job,
    options: TaggingOptions,
    progress: Progress,
    address: str | None = None,
    concurrency: int | None = None,
    gpus_per_actor: float = 0,
    cpus_per_actor: float = 1,
) -> None:
    """Tag `job`'s pending shards on Ray: `concurrency` actors (default: as many as the cluster's CPUs, or GPUs,
    allow), each taking `gpus_per_actor` GPUs and `cpus_per_actor` CPUs."""
    ray = import_ray()
    pending = {shard.output: shard for shard in job.pending()}
    if not pending:
        return
    # No address: a cluster of this process's own ("local"), stopped when it ends; never one that another user
    # on this machine started (what `address=None` would join).
    ray.init(address=address or "local", ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours counts documents and words
    if concurrency is None:
        resources = ray.cluster_resources()
        per_actor = ("GPU", gpus_per_actor) if gpus_per_actor else ("CPU", cpus_per_actor)
        concurrency = max(1, int(resources.get(per_actor[0], 1) // per_actor[1]))
    shards = ray.data.from_items([asdict(shard) for shard in pending.values()], override_num_blocks=len(pending))
    tagged = shards.map_batches(
        ShardTagger,
        fn_constructor_kwargs={"options": options, "output_dir": str(job.output_dir)},
        batch_size=1,
        concurrency=concurrency,
        num_cpus=cpus_per_actor,
        num_gpus=gpus_per_actor or None,
    )
    for row in tagged.iter_rows():
        counts = ShardCounts(**{name: int(row[name]) for name in COUNT_FIELDS})
        job.finish_shard(pending[row["output"]], counts)
        progress.advance(counts.documents, counts.words)
        progress.shard_done(counts)
