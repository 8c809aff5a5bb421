"""User sessions: the mapping that is Starlette's ``request.session`` and htag's ``tag.session``.

============  ===============================================================
``mapping``   a user's session (``Session``), stored value by value
``manager``   finding, creating, refreshing and rotating sessions (``Sessions``)
``writes``    writing them: once per turn of the loop, fenced, retried
============  ===============================================================
"""

from .manager import Sessions
from .mapping import Session, key_of

__all__ = ["Session", "Sessions", "key_of"]
