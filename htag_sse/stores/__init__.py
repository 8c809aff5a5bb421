"""Where sessions, page records and worker leases live: the :class:`Store` interface and
the two embedded stores (:class:`DiskStore`, the default, and :class:`MemoryStore`)."""

from .disk import DiskStore, private_directory
from .memory import MemoryStore
from .store import MapWrite, Saved, Store, Stored, Watched

__all__ = ["DiskStore", "MapWrite", "MemoryStore", "Saved", "Store", "Stored", "Watched", "private_directory"]
