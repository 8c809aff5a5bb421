"""Every way htag v1 binds an event, in one page (after htag's own "all bindings" manual test):
22 buttons, each adding a star to its row when its handler runs with the right arguments.
"TEST ALL" clicks the 22 buttons at once (22 interactions), then after ``delay`` ms asks the
``@expose``d ``valid`` to compare the stars counted with the number of rows: "OK" or "KO n/22"."""

from htag import Tag, expose


class Row(Tag.div):
    """One binding style: ``how`` names it; the button's handler appends a star (``b``) to ``self``."""

    def init(self, how):
        self["class"] = "row"
        self += Tag.code(how)
        button = Tag.button("test", _class="t")
        self.button = button
        args, kargs = (42,), {"p": "x"}

        def star():
            self.add(Tag.b("*"))

        def check_args(nb, p):
            assert (nb, p) == (42, "x"), (nb, p)

        # methods called without any event
        if how == "self.bind.m()":
            button["onclick"] = self.bind.plain()
        elif how == "self.bind.m(42, p='x')":
            button["onclick"] = self.bind.plain_args(*args, **kargs)
        # handlers receiving the tag the event is on (``o``)
        elif how == "_onclick=self.m":
            button["onclick"] = self.with_o
        elif how == "_onclick=closure":
            button["onclick"] = lambda o: (o is button or _fail(o)) and star()
        elif how == "b.bind(self.m)":
            button["onclick"] = button.bind(self.with_o)
        elif how == "b.bind(closure)":
            button["onclick"] = button.bind(lambda o: (o is button or _fail(o)) and star())
        elif how == "b.bind(self.m, 42, p='x')":
            button["onclick"] = button.bind(self.with_o_args, *args, **kargs)
        elif how == "b.bind(closure, 42, p='x')":
            button["onclick"] = button.bind(lambda o, nb, p: check_args(nb, p) or star(), *args, **kargs)
        elif how == "self.bind(self.m)":
            button["onclick"] = self.bind(self.plain)
        elif how == "self.bind(closure)":
            button["onclick"] = self.bind(lambda tag: star())
        elif how == "self.bind(self.m, 42, p='x')":
            button["onclick"] = self.bind(self.plain_args, *args, **kargs)
        elif how == "self.bind(closure, 42, p='x')":
            button["onclick"] = self.bind(lambda tag, nb, p: check_args(nb, p) or star(), *args, **kargs)
        # handlers receiving an event (``ev``: ev.target, ev.timeStamp...)
        elif how == "_onclick=self.m(ev)":
            button["onclick"] = self.with_ev
        elif how == "_onclick=closure(ev)":
            button["onclick"] = lambda ev: _check_ev(ev, button) or star()
        elif how == "b.bind(self.m(ev))":
            button["onclick"] = button.bind(self.with_ev)
        elif how == "b.bind(closure(ev))":
            button["onclick"] = button.bind(lambda ev: _check_ev(ev, button) or star())
        elif how == "b.bind(self.m(ev), 42, p='x')":
            button["onclick"] = button.bind(self.with_ev_args, *args, **kargs)
        elif how == "b.bind(closure(ev), 42, p='x')":
            button["onclick"] = button.bind(lambda ev, nb, p: _check_ev(ev, button) or check_args(nb, p) or star(),
                                            *args, **kargs)  # fmt: skip
        elif how == "self.bind(self.m(ev))":
            button["onclick"] = self.bind(self.with_own_ev)
        elif how == "self.bind(closure(ev))":
            button["onclick"] = self.bind(lambda ev: _check_ev(ev, self) or star())
        elif how == "self.bind(self.m(ev), 42, p='x')":
            button["onclick"] = self.bind(self.with_own_ev_args, *args, **kargs)
        elif how == "self.bind(closure(ev), 42, p='x')":
            button["onclick"] = self.bind(lambda ev, nb, p: _check_ev(ev, self) or check_args(nb, p) or star(),
                                          *args, **kargs)  # fmt: skip
        else:
            raise ValueError(how)
        self += button

    def star(self):
        self += Tag.b("*")

    def plain(self):
        assert self.event["timeStamp"] > 0
        self.star()

    def plain_args(self, nb, p=None):
        assert (nb, p) == (42, "x") and self.event["timeStamp"] > 0
        self.star()

    def with_o(self, o):
        assert o is self.button
        self.star()

    def with_o_args(self, o, nb, p=None):
        assert o is self.button and (nb, p) == (42, "x")
        self.star()

    def with_ev(self, ev):
        _check_ev(ev, self.button)
        self.star()

    def with_ev_args(self, ev, nb, p=None):
        _check_ev(ev, self.button)
        assert (nb, p) == (42, "x")
        self.star()

    def with_own_ev(self, ev):
        _check_ev(ev, self)
        self.star()

    def with_own_ev_args(self, ev, nb, p=None):
        _check_ev(ev, self)
        assert (nb, p) == (42, "x")
        self.star()


def _check_ev(ev, target):
    assert ev.target is target and ev.timeStamp > 0, (ev.target, target)


def _fail(o):
    raise AssertionError(f"handler called with {o!r}")


HOWS = [
    "self.bind.m()", "self.bind.m(42, p='x')",
    "_onclick=self.m", "_onclick=closure", "b.bind(self.m)", "b.bind(closure)", "b.bind(self.m, 42, p='x')",
    "b.bind(closure, 42, p='x')", "self.bind(self.m)", "self.bind(closure)", "self.bind(self.m, 42, p='x')",
    "self.bind(closure, 42, p='x')",
    "_onclick=self.m(ev)", "_onclick=closure(ev)", "b.bind(self.m(ev))", "b.bind(closure(ev))",
    "b.bind(self.m(ev), 42, p='x')", "b.bind(closure(ev), 42, p='x')", "self.bind(self.m(ev))",
    "self.bind(closure(ev))", "self.bind(self.m(ev), 42, p='x')", "self.bind(closure(ev), 42, p='x')",
]  # fmt: skip


class App(Tag.body):
    def init(self, delay="100"):
        delay_ms = int(delay)
        self.result = Tag.i("not run", _class="result")
        self += Tag.button(
            "TEST ALL",
            _class="all",
            _onclick=f"""
            for (const b of document.querySelectorAll("button.t")) b.click();
            setTimeout(() => document.body.valid(document.querySelectorAll(".row b").length), {delay_ms});""",
        )
        self += self.result
        for how in HOWS:
            self += Row(how)

    @expose
    def valid(self, stars):
        rows = len([c for c in self.childs if isinstance(c, Row)])
        self.result.clear("OK" if stars == rows else f"KO {stars}/{rows}")
