"""htbulma: the dialogs of ``Service`` (alert, confirm, prompt, toast, popmenu) and of the older ``MBox``
(confirm and prompt through ``self.bind._confirm`` / ``self.bind._prompt``) and ``Toaster``."""

import htbulma as b
from htag import Tag


class App(Tag.div):
    def init(self):
        self.service = b.Service(self)
        self.mbox = b.MBox(self)
        self.toaster = b.Toaster(self)
        self.answer = Tag.span("no answer", _class="answer")
        self += b.Button("alert", _onclick=self.alert, _class="b-alert")
        self += b.Button("confirm", _onclick=self.confirm, _class="b-confirm")
        self += b.Button("prompt", _onclick=self.prompt, _class="b-prompt")
        self += b.Button("toast", _onclick=self.toast, _class="b-toast")
        self += b.Button("menu", _onclick=self.menu, _class="b-menu")
        self += b.Button("mbox confirm", _onclick=self.mbox_confirm, _class="b-mconfirm")
        self += b.Button("mbox prompt", _onclick=self.mbox_prompt, _class="b-mprompt")
        self += b.Button("toaster", _onclick=lambda o: self.toaster.show(Tag.span("old toast", _class="old-toast"), 1500),
                         _class="b-toaster")  # fmt: skip
        # A natural slip: Service.alert() returns the modal, so this lambda returns it too, and htag's
        # dispatcher fails on a bare ``assert r is None`` (an exception whose message is empty).
        self += b.Button("alert (lambda)", _onclick=lambda o: self.service.alert("from a lambda"), _class="b-lambda")
        self += self.answer

    def alert(self, o):
        self.service.alert(Tag.span("hello from alert", _class="alert-text"))

    def toast(self, o):
        self.service.toast(Tag.span("toasted", _class="toast-text"), 1500)

    def confirm(self, o):
        self.service.confirm("sure?", ok=lambda o: self.answer.clear("confirm: ok"),
                             ko=lambda o: self.answer.clear("confirm: cancel"))  # fmt: skip

    def prompt(self, o):
        self.service.prompt("your name?", "bob", ok=lambda o: self.answer.clear(f"prompt: {o.value}"))

    def menu(self, o):
        entry = Tag.a("entry one", _onclick=lambda o: self.answer.clear("menu: one"), _class="entry-one")
        self.service.popmenu([entry], (20, 20))

    def mbox_confirm(self, o):
        self.mbox.confirm(
            "really?", ok=lambda: self.answer.clear("mbox: ok"), ko=lambda: self.answer.clear("mbox: cancel")
        )

    def mbox_prompt(self, o):
        self.mbox.prompt("your city?", "paris", ok=lambda v: self.answer.clear(f"mbox prompt: {v}"))
