"""The embedded dev server gives a server file it creates one partition per task queue, and
keeps the server's default for a file an earlier version created (tasks may wait in the
partitions that fewer would drop)."""

from __future__ import annotations

from pathlib import Path

from orderloop.devserver import TASK_QUEUE_PARTITIONS, DevServer, task_queue_partitions

PARTITION_FLAGS = [
    f"matching.numTaskqueueReadPartitions={TASK_QUEUE_PARTITIONS}",
    f"matching.numTaskqueueWritePartitions={TASK_QUEUE_PARTITIONS}",
]


def dynamic_config(server: DevServer) -> list[str]:
    cmd = server.command()
    return [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--dynamic-config-value"]


def partition_config(server: DevServer) -> list[str]:
    return [value for value in dynamic_config(server) if "Partitions=" in value]


def test_a_new_server_file_gets_one_partition_and_keeps_it(tmp_path: Path) -> None:
    db_file = tmp_path / "temporal.db"
    server = DevServer(db_file=db_file, partitions=task_queue_partitions(db_file))
    assert server.partitions == 1
    assert partition_config(server) == PARTITION_FLAGS
    db_file.write_bytes(b"")  # the server created its file
    assert task_queue_partitions(db_file) == 1  # restarts keep it


def test_a_file_from_an_earlier_version_keeps_the_default_partitions(tmp_path: Path) -> None:
    db_file = tmp_path / "temporal.db"
    db_file.write_bytes(b"")
    server = DevServer(db_file=db_file, partitions=task_queue_partitions(db_file))
    assert server.partitions is None
    assert partition_config(server) == []
    assert not (tmp_path / "temporal.db.partitions").exists()
