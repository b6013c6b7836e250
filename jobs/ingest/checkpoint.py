"""A Kafka sink's checkpoint, read and (for one recovery) moved: the offsets Spark committed per partition.

Spark keeps, per micro-batch n, `offsets/n` (the source offsets it planned) and `commits/n` (written once the
batch's sink finished). What a sink has taken is the newest committed batch's offsets. When the broker no longer
holds them (records aged out by retention, a broker replaced and its offsets restarted), Spark's Kafka source
stops with "Some data may have been lost"; `offset_gaps` names the gap before Spark starts, and `move_offsets`
commits an empty batch whose offsets are what the broker holds, so the next start reads from there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from jobs.resources.storage import arrow_filesystem, join_uri


@dataclass(frozen=True)
class Committed:
    batch: int  # the newest batch with a commit marker
    topic: str  # the topic as Spark's offsets name it
    offsets: dict[int, int]  # partition -> next offset to take


@dataclass(frozen=True)
class OffsetGap:
    topic: str
    partition: int
    taken_to: int  # the checkpoint's next offset
    broker_first: int | None  # the partition's range on the broker now (None: the partition is gone)
    broker_next: int | None

    @property
    def cause(self) -> str:
        if self.broker_first is None:
            return "partition_gone"
        return "retention" if self.taken_to < self.broker_first else "broker_reset"

    @property
    def records(self) -> int | None:
        return self.broker_first - self.taken_to if self.cause == "retention" else None

    def describe(self) -> str:
        if self.cause == "partition_gone":
            return f"partition {self.partition} (taken to offset {self.taken_to}) no longer exists"
        if self.cause == "retention":
            return (f"partition {self.partition}: offsets {self.taken_to}..{self.broker_first - 1} ({self.records:,} "
                    f"records) are gone, the broker starts at {self.broker_first}")
        return (f"partition {self.partition}: taken to offset {self.taken_to}, but the broker's offsets end at "
                f"{self.broker_next} (a new or replaced broker)")


class OffsetsGone(RuntimeError):
    """The checkpoint's offsets are no longer on the broker; the message is one line naming them and the fix."""


def committed(location: str, storage_options: dict[str, str] | None = None) -> Committed | None:
    """The newest committed batch of the checkpoint at `location`; None before the first one."""
    fs, root = arrow_filesystem(location, storage_options)
    batches = [int(name) for name in _names(fs, join_uri(root, "commits")) if name.isdigit()]
    if not batches:
        return None
    newest = max(batches)
    header, metadata, sources = _read(fs, join_uri(root, "offsets", str(newest)))[:3]
    by_topic: dict[str, dict[str, int]] = json.loads(sources)
    [(topic, by_partition)] = by_topic.items()  # one source: the sink's topic
    return Committed(newest, topic, {int(p): int(o) for p, o in by_partition.items()})


def offset_gaps(taken: Committed | None, broker: dict[int, tuple[int, int]]) -> list[OffsetGap]:
    """Partitions whose next offset the broker ({partition: (first, next)}) cannot serve."""
    if taken is None:
        return []
    gaps = []
    for partition, offset in sorted(taken.offsets.items()):
        if partition not in broker:
            gaps.append(OffsetGap(taken.topic, partition, offset, None, None))
            continue
        first, following = broker[partition]
        if offset < first or offset > following:
            gaps.append(OffsetGap(taken.topic, partition, offset, first, following))
    return gaps


def gone_message(table: str, gaps: list[OffsetGap]) -> str:
    return (f"{gaps[0].topic} -> {table}: the checkpoint's offsets are no longer on the broker: "
            + "; ".join(gap.describe() for gap in gaps)
            + f". `pulselake ingest reset-offsets --topic {gaps[0].topic}` records the gap in bronze.quarantine and "
              "moves the checkpoint to what the broker holds.")


def move_offsets(location: str, taken: Committed, gaps: list[OffsetGap],
                 storage_options: dict[str, str] | None = None) -> int:
    """Commit an empty batch after `taken.batch` whose offsets skip `gaps` (a retention gap to the broker's first
    offset, a reset broker's partition to its first offset, a gone partition dropped); returns its number. A plan
    for that batch left by a query that died before committing it is replaced: its offsets are the ones gone."""
    fs, root = arrow_filesystem(location, storage_options)
    offsets = dict(taken.offsets)
    for gap in gaps:
        if gap.broker_first is None:
            offsets.pop(gap.partition, None)
        else:
            offsets[gap.partition] = gap.broker_first
    batch = taken.batch + 1
    if fs.get_file_info(join_uri(root, "commits", str(batch))).type.name != "NotFound":
        raise FileExistsError(f"batch {batch} of {location} is committed: another query ran on it meanwhile")
    header, metadata, *_ = _read(fs, join_uri(root, "offsets", str(taken.batch)))
    planned = json.loads(metadata)
    planned["batchTimestampMs"] = int(datetime.now(timezone.utc).timestamp() * 1000)
    sources = json.dumps({taken.topic: {str(p): o for p, o in sorted(offsets.items())}}, separators=(",", ":"))
    _write(fs, join_uri(root, "offsets", str(batch)), "\n".join([header, json.dumps(planned, separators=(",", ":")),
                                                                 sources]), replace=True)
    _write(fs, join_uri(root, "commits", str(batch)), "\n".join(_read(fs, join_uri(root, "commits", str(taken.batch)))))
    return batch


def _names(fs, folder: str) -> list[str]:
    from pyarrow.fs import FileSelector

    return [info.base_name for info in fs.get_file_info(FileSelector(folder, allow_not_found=True))]


def _read(fs, path: str) -> list[str]:
    with fs.open_input_stream(path) as handle:
        return handle.read().decode("utf-8").splitlines()


def _write(fs, path: str, text: str, replace: bool = False) -> None:
    """Write a checkpoint file; one that exists is refused unless `replace` (a commit marker never is). Hadoop's
    checksum of a replaced file (`.<name>.crc`, on local disks) goes with it, or Spark would refuse to read it."""
    if not replace and fs.get_file_info(path).type.name != "NotFound":
        raise FileExistsError(f"{path} already exists: another query ran on this checkpoint meanwhile")
    folder, _, name = path.rpartition("/")
    checksum = f"{folder}/.{name}.crc"
    if replace and fs.get_file_info(checksum).type.name != "NotFound":
        fs.delete_file(checksum)
    with fs.open_output_stream(path) as handle:
        handle.write(text.encode("utf-8"))
