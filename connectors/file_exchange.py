"""The file exchange a file-speaking channel works through: folders of files on a server the
channel and Orderloop both reach (SFTP in production, a local folder in unit tests).

Connectors that speak files (the flat-file ERP/WMS exchange, EDI with retail partners) take a
`FileExchange` and never open a socket themselves, so the transport is one implementation
shared by all of them. Conventions every implementation keeps:

- `write` is atomic for the reader: the bytes go to a temporary name in the same folder and are
  renamed into place, so a partner polling the folder never reads half a file.
- `list` returns regular files only (no folders, no temporary names), oldest first by
  modification time, then by name, so files are processed in the order they arrived.
- `move` is how a processed file leaves the inbox (to an archive or error folder); moving a
  file onto an existing name fails rather than overwriting it.
- Paths are POSIX-style, relative to the exchange's root.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

TEMPORARY_PREFIX = ".part-"


@dataclass(frozen=True)
class RemoteFile:
    path: str  # relative to the exchange's root, e.g. "outbound/orders/SO-1001.csv"
    size: int
    modified_at: datetime

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


class FileExchangeError(Exception):
    """The exchange could not be reached or refused the operation (retryable unless it says
    otherwise)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class FileExchange(Protocol):
    async def list(self, folder: str) -> list[RemoteFile]: ...

    async def read(self, path: str) -> bytes: ...

    async def write(self, path: str, data: bytes) -> None: ...

    async def move(self, source: str, destination: str) -> None: ...

    async def exists(self, path: str) -> bool: ...


class LocalFolderExchange:
    """A `FileExchange` over a local folder: for unit tests of mapping and file handling, and
    for a brand whose partner drops files on a mounted share."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _local(self, path: str) -> Path:
        relative = posixpath.normpath(path.lstrip("/"))
        if relative.startswith(".."):
            raise FileExchangeError(f"path {path!r} leaves the exchange's root", retryable=False)
        return self.root / relative

    async def list(self, folder: str) -> list[RemoteFile]:
        directory = self._local(folder)
        if not directory.is_dir():
            raise FileExchangeError(f"no folder {folder!r} on the exchange", retryable=False)
        files = []
        for entry in directory.iterdir():
            if entry.is_file() and not entry.name.startswith(TEMPORARY_PREFIX):
                stat = entry.stat()
                files.append(
                    RemoteFile(
                        path=posixpath.join(folder.strip("/"), entry.name),
                        size=stat.st_size,
                        modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                    )
                )
        return sorted(files, key=lambda f: (f.modified_at, f.path))

    async def read(self, path: str) -> bytes:
        try:
            return self._local(path).read_bytes()
        except FileNotFoundError:
            raise FileExchangeError(f"no file {path!r} on the exchange", retryable=False) from None

    async def write(self, path: str, data: bytes) -> None:
        target = self._local(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(TEMPORARY_PREFIX + target.name)
        temporary.write_bytes(data)
        os.replace(temporary, target)

    async def move(self, source: str, destination: str) -> None:
        origin, target = self._local(source), self._local(destination)
        if target.exists():
            raise FileExchangeError(f"{destination!r} already exists on the exchange", retryable=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            origin.rename(target)
        except FileNotFoundError:
            raise FileExchangeError(f"no file {source!r} on the exchange", retryable=False) from None

    async def exists(self, path: str) -> bool:
        return self._local(path).exists()
