"""How ``ObjectStore`` (``leadflow.sandbox.hubspot.store``) holds one object: compactly when it can.

A CRM object as the sandbox serves it is ``{"id", "properties", "createdAt", "updatedAt",
"archived"}``. Most are plain: not archived, ``id`` equal to ``hs_object_id``,
``createdAt``/``updatedAt`` equal to the type's creation/modification date property, every
value a string or ``None``. A plain object is held as the tuple of its property values
beside the property names it shares with every object of the same shape (``Shape``), and
rebuilt, equal and in the same key order, whenever it is asked for (``Record.obj``): a
million contacts and a few million engagements then hold no dict each. Any other object is
held as it is. A record never changes: a write stores a new one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from leadflow.sandbox.hubspot.search import Typed

OBJECT_KEYS = ("id", "properties", "createdAt", "updatedAt", "archived")


class Shape:
    """Property names, in their order, shared by the compactly held objects with them."""

    __slots__ = ("created_at", "id_at", "index", "modified_at", "names")

    def __init__(self, names: tuple[str, ...], created: str, modified: str) -> None:
        self.names = names
        self.index = {name: at for at, name in enumerate(names)}
        self.id_at = self.index["hs_object_id"]
        self.created_at = self.index[created]
        self.modified_at = self.index[modified]


class Shapes:
    """The shapes of one store's objects (its type's creation and modification dates)."""

    def __init__(self, created: str, modified: str) -> None:
        self.created, self.modified = created, modified
        self._known: dict[tuple[str, ...], Shape] = {}

    def of(self, obj: dict[str, Any]) -> Shape | None:
        """The shape ``obj`` can be held in, or ``None`` if it must be kept as it is."""
        props = obj.get("properties")
        if tuple(obj) != OBJECT_KEYS or obj["archived"] is not False or type(props) is not dict:
            return None
        if any(value is not None and type(value) is not str for value in props.values()):
            return None
        oid = obj["id"]
        if type(oid) is not str or props.get("hs_object_id") != oid:
            return None
        if self.created not in props or obj["createdAt"] != props[self.created]:
            return None
        if self.modified not in props or obj["updatedAt"] != props[self.modified]:
            return None
        names = tuple(props)
        shape = self._known.get(names)
        if shape is None:
            shape = self._known[names] = Shape(names, self.created, self.modified)
        return shape


class Record(Typed):
    """One stored object and, as a ``Typed`` view of its properties, what search sees of it.
    ``raw`` is the tuple of property values when ``shape`` is set, else the properties."""

    __slots__ = ("_obj", "previous", "searchable_at", "shape")

    def __init__(self, obj: dict[str, Any], shapes: Shapes | None) -> None:
        shape = None if shapes is None else shapes.of(obj)
        if shape is None:
            super().__init__(obj["properties"])
            self._obj: dict[str, Any] | None = obj
        else:
            super().__init__(tuple(obj["properties"].values()))
            self._obj = None
        self.shape = shape
        self.searchable_at = 0.0
        self.previous: Typed | None = None  # what search still sees during the lag

    def snapshot(self) -> Record:
        """The same object in a new record (without this one's lag state)."""
        record = Record.__new__(Record)
        record.raw, record._obj, record.shape = self.raw, self._obj, self.shape
        record.searchable_at, record.previous = 0.0, None
        return record

    @property
    def obj(self) -> dict[str, Any]:
        """The object (rebuilt, a new dict, when held compactly: change it freely)."""
        shape = self.shape
        if shape is None:
            assert self._obj is not None
            return self._obj
        values = self.raw
        return {
            "id": values[shape.id_at],
            "properties": dict(zip(shape.names, values, strict=True)),
            "createdAt": values[shape.created_at],
            "updatedAt": values[shape.modified_at],
            "archived": False,
        }

    @property
    def oid(self) -> str:
        shape = self.shape
        return self.raw[shape.id_at] if shape is not None else self.raw_obj["id"]

    @property
    def archived(self) -> Any:
        """The object's ``archived`` as held (``False`` when held compactly)."""
        return False if self.shape is not None else self.raw_obj["archived"]

    @property
    def raw_obj(self) -> dict[str, Any]:
        assert self._obj is not None
        return self._obj

    def stored(self, name: str) -> Any:
        shape = self.shape
        if shape is None:
            return self.raw.get(name)
        at = shape.index.get(name)
        return None if at is None else self.raw[at]


class Objects(Sequence[dict[str, Any]]):
    """Records seen as their objects, each rebuilt when read (``Record.obj``)."""

    def __init__(self, records: list[Record]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [record.obj for record in self._records[index]]
        return self._records[index].obj

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (record.obj for record in self._records)
