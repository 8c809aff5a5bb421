"""``hypercorn tests.support.serve_oauth:app``: examples/oauth.py's app as it is (its provider from
``OIDC_SERVER_METADATA_URL``, ``OIDC_CLIENT_ID`` and ``OIDC_CLIENT_SECRET``), for the topologies:
logs, ``Connection: close`` and ``X-Htag-Worker`` from the environment (:mod:`.serving`), and a
public page at ``/warm`` (every other page needs a login) that the harness asks every worker for."""

from htag import Tag
from starlette.requests import Request
from starlette.responses import Response

from examples.oauth import app

from .serving import prepare


class Warm(Tag.div):
    def init(self):
        self += "warm"


async def warm(request: Request) -> Response:
    return await app.handle(request, Warm)


app.add_route("/warm", warm)
prepare(app, name_worker=True)
