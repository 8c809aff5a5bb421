"""htag's own event manual test (``manual_tests_events.py``, htag 1.0.0), in the same styles: a
``self.bind(f, b"js")`` JS argument, a list of handlers on one event, generators streaming into the
button clicked (``lambda o: self.stream()``) or into their tag (``self.bind.stream()``), sync and
async generators that only ``yield``, a tag with its own ``__init__`` holding a button, old-style
``self.bind.m("x")``; plus a form sent by Enter in its input (htag's todomvc style). Everything
a handler adds goes into the ``panel`` (the manual test adds it to its body)."""

# ruff: noqa: B015 - ``tag <= child`` is htag's way of adding a child, as the manual test writes it

from htag import Tag


def outside(o):
    """A handler that is not a method: prints on the server, changes nothing."""
    print("outside handler called")


class Item(Tag.span):
    """The manual test's ``MyTag``: an ``__init__`` of its own, a title and a button with a callback."""

    def __init__(self, title, callback):
        self.title = title
        super().__init__(title + Tag.button("x", _class="delete", _onclick=callback), _class="item")


class Panel(Tag.div):
    def init(self, **a):
        self["class"] = "panel"
        def ff(o):
            self <= "ff"

        def width(o, size):
            self <= f"w{size}"

        def mark(o):
            o <= "b"  # into the x button of the item

        self <= Tag.button("js arg", _onclick=self.bind(width, b"String(window.innerWidth > 0)"), _class="js-arg")
        self <= Tag.button("str arg", _onclick=self.bind(width, "toto"), _class="str-arg")
        self <= Item("test", mark)
        self <= Tag.button("stream in", _onclick=lambda o: self.stream(), _class="stream-in")
        self <= Tag.button("stream out", _onclick=self.bind(self.stream), _class="stream-out")
        self <= Tag.button("stream bound", _onclick=self.bind.stream(), _class="stream-bound")
        self <= Tag.button("outside", _onclick=outside, _class="outside")
        self <= Tag.button("lambda", _onclick=lambda o: width(o, "lambda"), _class="lambda")
        self <= Tag.button("list", _onclick=[ff, self.mm, lambda o: width(o, "KIKI")], _class="list")
        self <= Tag.button("ff", _onclick=ff, _class="ff")
        for name in ("mm", "ymm", "amm", "aymm"):
            self <= Tag.button(name, _onclick=getattr(self, name), _class=name)
            self <= Tag.button(f"old {name}", _onclick=getattr(self.bind, name)("x"), _class=f"old-{name}")

    def mm(self, o):
        self <= "mm"

    def ymm(self, o):
        self <= "mm1"
        yield
        self <= "mm2"

    async def amm(self, o):
        self <= "amm"

    async def aymm(self, o):
        self <= "aymm1"
        yield
        self <= "aymm2"

    def stream(self):
        yield "a"
        yield "b"
        yield ["c", "d"]
        yield Item("kiki", outside)


class Todo(Tag.div):
    """A form sent by Enter in its input: one item per Enter."""

    def init(self):
        self.items = Tag.ul(_class="todos")
        form = Tag.form(_onsubmit=self.bind.add_todo(b"this.q.value") + "return false", _class="todo")
        form += Tag.input(_name="q", _class="q", _placeholder="a todo ?")
        self += form
        self += self.items

    def add_todo(self, text):
        self.items += Tag.li(text)


class App(Tag.body):
    def init(self):
        self.panel = Panel()
        self <= self.panel
        self <= Todo()
