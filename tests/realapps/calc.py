"""A calculator in the style of htag's ``calc.py`` example: what is typed lives in an attribute
(``self.txt``); buttons and the keyboard (``onkeyup`` on the whole app) feed it."""

from htag import Tag


class App(Tag.div):
    statics = Tag.style(".calc button {font-size:1.5em;min-width:2em}")

    def init(self):
        self.txt = ""
        self.display = Tag.div("&nbsp;", _class="display", _style="border:1px solid black;min-height:1.5em")
        self["class"] = "calc"
        self["tabindex"] = 0
        self += self.display
        self += Tag.button("C", _onclick=self.bind(self.clean), _class="k-clear")
        for key in "0123456789+-x/.":
            self += Tag.button(key, _onclick=self.bind(self.press, key), _class="k", _data_key=key)
        self += Tag.button("=", _onclick=self.bind(self.compute), _class="k-eq")
        self["onkeyup"] = self.bind(self.presskey, b"event.key")

    def presskey(self, key):
        if key in "0123456789+-*/.":
            self.press(key)
        elif key == "Enter":
            self.compute()
        elif key in ("Delete", "Backspace"):
            self.clean()

    def press(self, key):
        self.txt += key
        self.display.clear(self.txt)

    def compute(self):
        try:
            self.txt = str(eval(self.txt.replace("x", "*"), {"__builtins__": {}}))  # digits and operators only
            self.display.clear(self.txt)
        except (SyntaxError, ZeroDivisionError, NameError, TypeError):
            self.txt = ""
            self.display.clear("Error")

    def clean(self):
        self.txt = ""
        self.display.clear("&nbsp;")
