"""Progress of a long tagging run: documents/s, words/s and the time left, on standard error, and one summary line
at the end."""

import sys
import time

from .job import ShardCounts


class Progress:
    """A progress bar over the documents still to tag (`total`), fed by `advance(documents, words)`."""

    def __init__(self, total: int, shards: int, skipped_shards: int, enabled: bool = True):
        from tqdm.auto import tqdm

        self.start = time.perf_counter()
        self.shards, self.skipped_shards = shards, skipped_shards
        self.counts = ShardCounts()  # of the shards finished
        self.words = 0  # tagged so far, finished shards or not
        self.enabled = enabled  # off: no bar and no summary line (a Python caller reads the returned summary)
        self.bar = tqdm(total=total, unit="doc", file=sys.stderr, disable=not enabled, dynamic_ncols=True)

    def advance(self, documents: int, words: int) -> None:
        self.bar.update(documents)
        self.words += words
        self.bar.set_postfix_str(f"{self.words / max(self.elapsed(), 1e-9):,.0f} words/s", refresh=False)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def shard_done(self, counts: ShardCounts) -> None:
        self.counts.add(counts)

    def close(self) -> dict:
        """Close the bar; the run's summary (also printed as one line, with the progress bar on)."""
        self.bar.close()
        seconds = self.elapsed()
        summary = {
            "documents": self.counts.documents,
            "words": self.counts.words,
            "entities": self.counts.entities,
            "seconds": round(seconds, 2),
            "documents_per_second": round(self.counts.documents / max(seconds, 1e-9), 2),
            "words_per_second": round(self.counts.words / max(seconds, 1e-9), 1),
            "shards_tagged": self.shards - self.skipped_shards,
            "shards_already_done": self.skipped_shards,
        }
        if self.enabled:
            print(
                f"Tagged {summary['documents']:,} documents ({summary['words']:,} words, "
                f"{summary['entities']:,} entities) in {seconds:,.1f} s: {summary['documents_per_second']:,.1f} "
                f"documents/s, {summary['words_per_second']:,.0f} words/s; {summary['shards_tagged']} shards tagged, "
                f"{summary['shards_already_done']} already done",
                file=sys.stderr,
            )
        if note := self.counts.replaced_note():
            print(note, file=sys.stderr)
        return summary
