"""State that outlives a page: `tag.state` is the user's session, so F5 keeps it.

A generator handler streams items one by one, and an error in a handler is
shown in the page while the app keeps working.
"""

import asyncio

from htag import Tag

from htag_sse import HtagSSE


class App(Tag.div):
    def init(self):
        self.name = Tag.input(_value=self.state.get("name", ""), _placeholder="your name", _class="name")
        self.name["onchange"] = self.bind.save(b"this.value")
        self.hello = Tag.p(self.greeting(), _class="hello")
        self.items = Tag.ul(_class="items")
        self += self.name
        self += self.hello
        self += Tag.button("count to 5", _onclick=self.count, _class="count")
        self += Tag.button("fail", _onclick=self.fail, _class="fail")
        self += self.items

    def greeting(self):
        return f"Hello {self.state.get('name') or 'stranger'}"

    def save(self, value):
        self.state["name"] = value
        self.hello.clear(self.greeting())

    async def count(self, ev):
        self.items.clear()
        for i in range(1, 6):
            await asyncio.sleep(0.05)
            yield Tag.li(i)

    def fail(self, ev):
        raise ValueError("this handler fails on purpose")


app = HtagSSE(App)

if __name__ == "__main__":
    app.run()
