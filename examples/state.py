"""State that outlives a page: the user's session, kept by the server, so F5 and
server restarts keep it; a plain Starlette route reads the same session.

`self.session` (htag's name) is Starlette's `request.session`: the name typed
here is `request.session["name"]` in the `/name` route. A generator handler
adds items to a list one by one (each `yield` sends what changed so far), and
an error in a handler is shown in the page while the app keeps working.
"""

import asyncio

from htag import Tag
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from htag_sse import HtagSSE


class App(Tag.div):
    def init(self):
        self.name = Tag.input(_value=self.session.get("name", ""), _placeholder="your name", _class="name")
        self.name["onchange"] = self.bind.save(b"this.value")
        self.hello = Tag.p(self.greeting(), _class="hello")
        self.items = Tag.ul(_class="items")
        self += self.name
        self += self.hello
        self += Tag.button("count to 5", _onclick=self.count, _class="count")
        self += Tag.button("fail", _onclick=self.fail, _class="fail")
        self += self.items
        self += Tag.p(Tag.a("the session seen by a route", _href="/name"))

    def greeting(self):
        return f"Hello {self.session.get('name') or 'stranger'}"

    def save(self, value):
        self.session["name"] = value  # a plain session key, shared with the routes
        self.hello.clear(self.greeting())

    async def count(self, ev):
        # A yielded value would be added to the tag that got the event (the
        # button): add to the list, and yield nothing, to send each step.
        self.items.clear()
        for i in range(1, 6):
            await asyncio.sleep(0.05)
            self.items += Tag.li(i)
            yield

    def fail(self, ev):
        raise ValueError("this handler fails on purpose")


async def name(request: Request):
    return JSONResponse({"name": request.session.get("name")})


app = HtagSSE(App, routes=[Route("/name", name)])

if __name__ == "__main__":
    app.run()
