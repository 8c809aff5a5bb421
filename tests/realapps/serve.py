"""``hypercorn tests.realapps.serve:app``: the real-world apps of this package, served by htag-sse.

``HTAG_SSE_REALAPPS`` names a group (``ui``: the htagui apps, ``bulma``: the
htbulma apps, ``plain``: the plain htag apps, ``shoelace``: htagui's shoelace
flavour), served at ``/<module name>`` (and its first app at ``/`` too);
or one module, served at ``/``. One kit per process, as with htag's own
runner: htagui picks its flavour per process, and an app without
``imports`` carries the statics of every Tag class its process imported.
Options, logs and ``Connection: close`` come from the environment, as for
every test server (tests/support/serving.py, which imports no htag app).
"""

import importlib
import os

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from htag_sse import HtagSSE

from ..support.serving import options, prepare

GROUPS = {
    "ui": ["ui_form", "ui_dialog", "ui_tabs", "ui_split", "ui_sortable", "ui_scroll", "ui_view", "ui_upload"],
    "bulma": ["bulma_form", "bulma_dialogs", "bulma_widgets", "bulma_storage"],
    "plain": ["crud", "calc", "counter", "bindings", "events"],
    "shoelace": ["sl_fields"],
}


def app_of(name: str) -> type:
    return importlib.import_module(f"tests.realapps.{name}").App


def route(name: str, path: str = "") -> Route:
    App = app_of(name)

    async def page(request: Request) -> Response:
        return await app.handle(request, App)

    return Route(path or f"/{name}", page)


wanted = os.environ.get("HTAG_SSE_REALAPPS", "plain")
if wanted in GROUPS:
    names = GROUPS[wanted]
    app = HtagSSE(routes=[route(names[0], "/"), *(route(name) for name in names)], **options())
else:
    app = HtagSSE(app_of(wanted), **options())
prepare(app)
