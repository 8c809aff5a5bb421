"""htbulma: a Form sent with its submit button (``Form._onsubmit``, bound with ``self.bind._onsubmit``),
and reactive inputs (their own ``_set`` chained to the app's handler through htag's Caller)."""

import json

import htbulma as b
from htag import Tag


class App(Tag.div):
    def init(self):
        self.sent = Tag.pre("nothing sent", _class="sent")
        self.live = Tag.pre("no change", _class="live")
        form = b.Form(onsubmit=self.submitted, _class="form")
        form += b.Input("", name="name", _class="name")
        form += b.Select("b", {"a": "Apple", "b": "Banana"}, name="fruit")
        form += b.Checkbox(False, "agree", name="agree", _class="agree")
        form += b.Range(4, name="level", _min=0, _max=10)
        form += b.Textarea("", name="memo")
        form += Tag.button("send", _class="button send")
        self += form
        self += self.sent
        self += b.Input("", _onchange=self.react, _class="r-input")
        self += b.Select(1, [1, 2, 3], _onchange=self.react, _class="r-select")
        self += b.Checkbox(False, "check me", _onchange=self.react, _class="r-check")
        self += b.Radio(1, [1, 2, 3], _onchange=self.react, _class="r-radio")
        self += b.SelectButtons(1, {1: "one", 2: "two"}, _onchange=self.react, _class="r-buttons")
        self += self.live

    def submitted(self, data: dict):
        self.sent.clear(json.dumps(data, sort_keys=True))

    def react(self, obj):
        self.live.clear(f"{type(obj).__name__}={obj.value!r}")
