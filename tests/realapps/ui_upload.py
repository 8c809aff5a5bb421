"""htagui (basics): FileUpload — the browser reads the file and sends it base64-encoded to the ``@expose``d ``_onchange``;
the app echoes its name, size and sha256."""

import hashlib

import htagui.basics as ui
from htag import Tag


class App(ui.App):
    imports = ui.ALL

    def init(self):
        self.got = Tag.pre("no file", _class="got")
        self += ui.FileUpload(onchange=self.received, _class="upload")
        self += self.got

    def received(self, name: str, content: bytes):
        self.got.clear(f"{name} {len(content)} {hashlib.sha256(content).hexdigest()}")
