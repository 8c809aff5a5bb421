"""Several htag apps on one server, each on its own route, with `handle`.

Also shows that HtagSSE is a Starlette app: plain routes share the session.
"""

from htag import Tag
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from htag_sse import HtagSSE


class Home(Tag.div):
    def init(self):
        self += Tag.h1("Home")
        self += Tag.a("counter", _href="/counter")
        self += " "
        self += Tag.a("hello Bob", _href="/hello?name=Bob")


class Counter(Tag.div):
    def init(self):
        self.value = Tag.span(self.root.state.get("n", 0))
        self += self.value
        self += Tag.button("+1", _onclick=self.inc)

    def inc(self, ev):
        self.root.state["n"] = self.root.state.get("n", 0) + 1
        self.value.clear(self.root.state["n"])


class Hello(Tag.div):
    def init(self, name="world"):  # /hello?name=Bob -> init(name="Bob")
        self += f"Hello {name}"


async def home(request: Request):
    return await app.handle(request, Home)


async def counter(request: Request):
    return await app.handle(request, Counter)


async def hello(request: Request):
    return await app.handle(request, Hello, http_only=True)  # per-route option


async def session_dump(request: Request):
    # Counter's root.state is here under its class's full name: "examples.multi.Counter" under
    # `hypercorn examples.multi:app`, "__main__.Counter" when this file runs as a script (README: State).
    return JSONResponse(dict(request.session))


app = HtagSSE(
    routes=[
        Route("/", home),
        Route("/counter", counter),
        Route("/hello", hello),
        Route("/session", session_dump),
    ]
)

if __name__ == "__main__":
    app.run()
