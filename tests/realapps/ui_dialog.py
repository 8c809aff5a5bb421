"""htagui (basics): the dialogs of ``App.ui`` — alert, confirm, prompt, toast,
drawer, pop menu, block, clipboard paste and download.

``prompt`` is a Form (``_submit``); ``clipboard_paste`` answers through the
``@expose``d ``_clipboard_paste``; the others use htag event handlers.
"""

import htagui.basics as ui
from htag import Tag


class App(ui.App):
    imports = ui.ALL

    def init(self):
        self.answer = Tag.span("no answer", _class="answer")
        menu = {"first": lambda: self.answer.clear("menu: first"), "second": lambda: self.answer.clear("menu: second")}
        self += ui.Button("alert", _onclick=lambda ev: self.ui.alert(Tag.span("hello from alert", _class="alert-text")),
                          _class="b-alert")  # fmt: skip
        self += ui.Button("confirm", _onclick=lambda ev: self.ui.confirm("sure?", self.confirmed), _class="b-confirm")
        self += ui.Button(
            "prompt", _onclick=lambda ev: self.ui.prompt("your name?", "bob", self.prompted), _class="b-prompt"
        )
        self += ui.Button("toast", _onclick=lambda ev: self.ui.notify(Tag.span("toasted", _class="toast-text"), 1500),
                          _class="b-toast")  # fmt: skip
        self += ui.Button("drawer", _onclick=lambda ev: self.ui.drawer(Tag.span("in the drawer", _class="drawer-text")),
                          _class="b-drawer")  # fmt: skip
        self += ui.Button(
            "pop", _onclick=lambda ev: self.ui.pop(ui.Menu(menu), (ev.clientX, ev.clientY)), _class="b-pop"
        )
        self += ui.Button("block", _onclick=self.block, _class="b-block")
        self += ui.Button("copy", _onclick=lambda ev: self.ui.clipboard_copy("from the clipboard"), _class="b-copy")
        self += ui.Button("paste", _onclick=lambda ev: self.ui.clipboard_paste(self.pasted), _class="b-paste")
        self += ui.Button("download", _onclick=lambda ev: self.ui.download("hello.txt", b"hello download"),
                          _class="b-download")  # fmt: skip
        self += self.answer

    def block(self, ev):
        self.ui.block(Tag.div(ui.Button("unblock", _onclick=lambda ev: self.ui.close(), _class="b-unblock")))

    def confirmed(self, yes):
        self.answer.clear(f"confirm: {yes}")

    def prompted(self, value):
        self.answer.clear(f"prompt: {value}")

    def pasted(self, text):
        self.answer.clear(f"pasted: {text}")
