"""htagui (basics): a Form sent with its submit button, and live fields.

Form posts through ``Form._submit`` (an ``@expose``d method); the I-fields
(IText, ITextarea, ISelect, IBool, IRange, IRadios) report through
``__on_event__`` handlers bound by htagui itself.
"""

import json

import htagui.basics as ui
from htag import Tag


class App(ui.App):
    imports = ui.ALL

    def init(self):
        self.sent = Tag.pre("nothing sent", _class="sent")
        with ui.Form(onsubmit=self.submitted, _class="form") as form:
            form += ui.Input(_name="name", _value="", _class="name")
            form += ui.Select({"fr": "France", "be": "Belgium", "ch": "Switzerland"}, _value="fr", _name="country")
            form += Tag.label(ui.Input(_name="agree", _type="checkbox", _class="agree") + " agree")
            form += ui.Input(_name="level", _type="range", _min=0, _max=10, _value=5, _class="level")
            form += ui.Button("send", _class="send")
        self += form
        self += self.sent

        self.live = Tag.pre("no change", _class="live")
        self += Tag.div([
            ui.IText("", onchange=self.changed, _class="itext"),
            ui.ITextarea("", onchange=self.changed, _class="itextarea"),
            ui.ISelect("a", {"a": "Apple", "b": "Banana"}, onchange=self.changed, _class="iselect"),
            ui.IBool(False, onchange=self.changed, _class="ibool"),
            ui.IRange(3, onchange=self.changed, _min=0, _max=10, _class="irange"),
            ui.IRadios("x", {"x": "Ex", "y": "Why"}, onchange=self.changed, _class="iradios"),
        ], _class="fields")  # fmt: skip
        self += self.live

    def submitted(self, data: dict):
        self.sent.clear(json.dumps(data, sort_keys=True))

    def changed(self, ev):
        self.live.clear(f"{type(ev.target).__name__}={ev.target.value!r}")
