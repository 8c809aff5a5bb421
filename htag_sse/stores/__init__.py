"""Where sessions, page records and worker leases live: the :class:`Store` interface and
the two embedded stores (:class:`DiskStore`, the default, and :class:`MemoryStore`)."""

from .disk import DiskStore, private_directory
from .memory import MemoryStore
from .store import MapWrite, Store, Stored

__all__ = ["DiskStore", "MapWrite", "MemoryStore", "Store", "Stored", "private_directory"]
