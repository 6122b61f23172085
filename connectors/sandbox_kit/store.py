"""Resource stores of an emulated API: resources of one kind under ids the store assigns, found
or refused in the vendor's words, listed since an id or since an update time, and served in the
pages vendors use (an offset cursor, keyset pages after or before an id, numbered pages, opaque
cursor tokens)."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

from connectors.sandbox_kit.errors import SandboxError

T = TypeVar("T")


def numbered(template: str = "{}", start: int = 1) -> Iterator[str]:
    """Ids from a template: `numbered("SR-{:06d}")` gives SR-000001, SR-000002, ..."""
    return (template.format(n) for n in itertools.count(start))


def _row_id(resource: Any) -> Any:
    return resource["id"]


class ResourceStore(Mapping[Any, T]):
    """Resources of one kind by id, in the order they were added. `ids` assigns new ids (a
    counter at the vendor's magnitude, or `numbered`); `id_of` reads a resource's id (default
    `resource["id"]`); `missing(id)` is the vendor's answer to an unknown id."""

    def __init__(
        self,
        ids: Iterator[Any] | None = None,
        *,
        id_of: Callable[[T], Any] = _row_id,
        missing: Callable[[Any], Exception] | None = None,
    ) -> None:
        self._ids = ids if ids is not None else itertools.count(1)
        self._id_of = id_of
        self._missing = missing
        self._rows: dict[Any, T] = {}

    def new_id(self) -> Any:
        return next(self._ids)

    def add(self, resource: T) -> T:
        self._rows[self._id_of(resource)] = resource
        return resource

    def find(self, resource_id: Any) -> T:
        """The resource, or the vendor's not-found answer raised."""
        found = self._rows.get(resource_id)
        if found is None:
            raise self._missing(resource_id) if self._missing else SandboxError(404, f"no resource {resource_id!r}")
        return found

    def where(self, keep: Callable[[T], bool]) -> list[T]:
        return [row for row in self._rows.values() if keep(row)]

    def since_id(self, after: Any) -> list[T]:
        """Resources whose id is greater than `after`, ascending by id."""
        return sorted((r for r in self._rows.values() if self._id_of(r) > after), key=self._id_of)

    def updated_since(self, bound: datetime | None, updated_at: Callable[[T], datetime]) -> list[T]:
        """Resources updated at or after `bound` (all when None), oldest update first, then by id."""
        rows = sorted(self._rows.values(), key=lambda r: (updated_at(r), self._id_of(r)))
        return rows if bound is None else [r for r in rows if updated_at(r) >= bound]

    def clear(self) -> None:
        self._rows.clear()

    def remove(self, resource_id: Any) -> T | None:
        """Forget one resource (a vendor that lost it); the removed one, or None."""
        return self._rows.pop(resource_id, None)

    def __getitem__(self, resource_id: Any) -> T:
        return self._rows[resource_id]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def offset_page(rows: list[T], cursor: str | None, limit: int) -> tuple[list[T], str | None]:
    """The page at an offset cursor (`"0"`, `"50"`, ...) and the next page's cursor (None on the
    last page); a cursor that is not an offset answers 400."""
    try:
        start = int(cursor) if cursor else 0
    except ValueError:
        raise SandboxError(400, f"invalid cursor {cursor!r}") from None
    more = start + limit < len(rows)
    return rows[start : start + limit], str(start + limit) if more else None


def keyset_page(
    rows: list[T], limit: int, *, after: Any = None, before: Any = None, key: Callable[[T], Any] = _row_id
) -> tuple[list[T], bool, bool]:
    """Of `rows` ascending by `key`: the page after or before a key (the first page when neither)
    and whether rows exist before it and after it."""
    if after is not None:
        page = [r for r in rows if key(r) > after][:limit]
    elif before is not None:
        page = [r for r in rows if key(r) < before][-limit:]
    else:
        page = rows[:limit]
    if not page:
        return page, False, False
    return page, key(rows[0]) < key(page[0]), key(rows[-1]) > key(page[-1])


def numbered_page(rows: list[T], page: int, limit: int) -> tuple[list[T], int]:
    """Page `page` (from 1) of `limit` rows, and how many pages there are (at least 1)."""
    return rows[(page - 1) * limit : page * limit], max(1, -(-len(rows) // limit))


def cursor_token(state: Mapping[str, Any]) -> str:
    """An opaque cursor carrying `state` (unpadded URL-safe base64 of compact JSON)."""
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def cursor_state(token: str, invalid: Callable[[], Exception]) -> dict[str, Any]:
    """The state of a `cursor_token`; anything else raises `invalid()`."""
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise invalid() from None
    if not isinstance(state, dict):
        raise invalid()
    return state


def ids_in(value: str | None) -> set[int]:
    """The integer ids of a comma-separated query value (`ids=1,2,3`); others are skipped."""
    return {int(i) for i in (value or "").split(",") if i.strip().isdigit()}
