"""Many machines: the same job as a Ray Data pipeline, on a running Ray cluster (`--ray-address`) or, without one, a
local cluster that this run starts and stops.

    read (the pending shards) -> map_batches(ShardTagger: a pool of actors, each with the model loaded once,
    `num_gpus` each on GPU) -> write (each shard into its own file, renamed into place when complete)

The actors write the shard files themselves, through the same `tag_shard` as one process, so the output is the same
file for file whatever the engine; the driver only records finished shards. Ray restarts an actor that dies and
retries its shard (Ray Data's defaults for actor pools: `max_restarts=-1`, `max_task_retries=-1`): the retry writes
the shard again from its start, and since a shard file appears only complete, nothing is lost or doubled. The input
and output folders must be visible to every node at the same paths (a shared file system)."""

import socket
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
        raise UsageError("ray needs Ray: pip install 'vaner[ray]' (or 'ray[data]')").about("engine") from None
    return ray


CONNECT_SECONDS = 10  # how long a named cluster's address may take to answer


def connect(ray, address: str | None) -> None:
    """Join the cluster at `address`, or with none start a local one of this process's own (stopped when it ends;
    never one that another user on this machine started, which `address=None` would join). An address where no
    cluster answers is one clear error within seconds, not Ray's minutes of retries."""
    if address and not address.startswith(("ray://", "auto", "local")):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"{address}: expected HOST:PORT, auto, or ray://HOST:PORT").about("address")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
        except OSError as error:
            raise UsageError(f"{address}: no Ray cluster answers there ({error})").about("address") from None
    try:
        ray.init(address=address or "local", ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise UsageError(f"{address}: cannot join a Ray cluster ({str(error).splitlines()[0]})").about(
            "address"
        ) from None


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
    connect(ray, address)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours counts documents and words
    resources = ray.cluster_resources()
    for kind, wanted in (("GPU", gpus_per_actor), ("CPU", cpus_per_actor)):
        if wanted and resources.get(kind, 0) < wanted:  # an actor that no node can hold would wait forever
            raise UsageError(
                f"{wanted:g}: the Ray cluster has {resources.get(kind, 0):g} {kind}s; no actor could start"
            ).about(f"{kind.lower()}s_per_actor")
    if concurrency is None:
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
