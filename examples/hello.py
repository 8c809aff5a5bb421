"""Hello world: `python examples/hello.py`, then open http://127.0.0.1:8000"""

from htag import Tag

from htag_sse import HtagSSE


class App(Tag.div):
    def init(self):
        self += "hello world"


app = HtagSSE(App)  # `hypercorn examples.hello:app` serves this too

if __name__ == "__main__":
    app.run()
