"""A counter kept in the session (`tag.state`): clicks survive F5 and server restarts."""

from htag import Tag

from htag_sse import HtagSSE


class App(Tag.div):
    def init(self):
        self.value = Tag.span(self.state.get("count", 0), _class="count")
        self += Tag.h1("Counter")
        self += self.value
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += Tag.button("reset", _onclick=self.reset, _class="reset")

    def inc(self, ev):
        self.state["count"] = self.state.get("count", 0) + 1
        self.value.clear(self.state["count"])

    def reset(self, ev):
        self.state["count"] = 0
        self.value.clear(0)


app = HtagSSE(App)

if __name__ == "__main__":
    app.run()
