"""Everything that touches htag v1's internals, behind :mod:`htag_sse.adapter`'s typed face.

============  ===============================================================
``live``      the adapter (:class:`Htag1`) and one page's live app
``renderer``  the lean interaction path, with htag's semantics
``markup``    tags written as HTML, their scripts as JS
``classes``   one class per tag name in a lean page's code
``document``  a page's whole document, its statics, a refresh
``access``    what an interaction may reach
============  ===============================================================
"""

from .live import Htag1, Htag1Page, is_app

__all__ = ["Htag1", "Htag1Page", "is_app"]
