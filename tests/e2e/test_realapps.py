"""Real-world htag v1 apps and the htagui / htbulma widget kits, driven in Chromium as a user would,
under htag-sse (``tests/realapps/``; what each app covers: ``tests/realapps/README.md``), on every
topology (one worker, two workers, two hosts on Redis: tests/e2e/conftest.py), one per group of
apps (one kit per process), side by side. On several workers the interactions that matter (form
submissions, uploads, F5, a second tab) reach a worker that does not own their page
(tests/support/pins.py).

Each test asserts what htag 1.0.0's own runner shows for the same clicks. A test fails fast when
the page shows an error or the server refuses an interaction, and says which request was refused
and why.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from harness.topologies import Topology, Worker, start
from tests.support.pins import open_page, pinned, relayed, reload

pytestmark = [pytest.mark.browser, pytest.mark.server]

# One kit (one htagui flavour) per server process, as tests/realapps/serve.py explains.
GROUPS = ("ui", "bulma", "plain", "shoelace")
MB = 1024 * 1024


@pytest.fixture(scope="module")
def servers(topology_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Topology]]:
    """The topology, once per group of apps (default options), started side by side."""
    started: dict[str, Topology] = {}
    dirs = {group: tmp_path_factory.mktemp(f"{topology_name}-{group}") for group in GROUPS}  # not thread-safe: first

    def start_group(group: str) -> Topology:
        return start(topology_name, dirs[group], target="tests.realapps.serve:app", app="",
                     env={"HTAG_SSE_REALAPPS": group})  # fmt: skip

    # The pool's threads live as long as the topologies: a process the harness starts dies with the
    # thread that started it (harness.processes.DIE_WITH_PARENT: Linux's parent-death signal).
    pool = concurrent.futures.ThreadPoolExecutor(len(GROUPS))
    try:
        futures = {group: pool.submit(start_group, group) for group in GROUPS}
        concurrent.futures.wait(futures.values())
        for group, future in futures.items():  # every topology that came up is kept (and stopped below)
            if future.exception() is None:
                started[group] = future.result()
        for future in futures.values():
            future.result()  # a topology that did not come up fails the module, saying why
        yield started
    finally:
        for topology in started.values():
            topology.stop()
        pool.shutdown()


class Watch:
    """What went wrong where the user does not look: refused requests, failed requests, console errors;
    and where the tab's page lives (``topology``, ``owner``: the worker that made it)."""

    def __init__(self, page: Any, topology: Topology) -> None:
        self.page, self.topology = page, topology
        self.owner: Worker | None = None
        self.refused: list[tuple[float, int, str]] = []  # (when, status, "HTTP 403 POST .../interact: {...}")
        self.console: list[str] = []
        page.on("response", self._response)
        page.on("requestfailed", self._failed)
        page.on(
            "console",
            lambda m: self.console.append(f"{m.type}: {m.text[:300]}") if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda e: self.console.append(f"uncaught: {str(e)[:300]}"))

    def _response(self, response: Any) -> None:
        url = response.url
        if response.status >= 400 and "/_htag/" in url and response.request.method == "POST":
            try:
                body = response.text()[:300]
            except PlaywrightError as e:  # the body may be gone with the page
                body = f"<unreadable: {e}>"
            what = url.rsplit("/", 1)[-1]
            self.refused.append((time.monotonic(), response.status, f"HTTP {response.status} POST …/{what}: {body}"))

    def _failed(self, request: Any) -> None:
        if "/_htag/" in request.url and request.method == "POST":
            self.refused.append(
                (time.monotonic(), 0, f"POST …/{request.url.rsplit('/', 1)[-1]} failed: {request.failure}")
            )

    def boxes(self) -> list[str]:
        """The error boxes htag-sse's client shows (``window.error``)."""
        return self.page.evaluate("() => Array.from(document.querySelectorAll('.htag-sse-error'), e => e.textContent)")

    def report(self, tolerate: tuple[int, ...] = ()) -> str:
        lines = [what for _, status, what in self.refused if status not in tolerate]
        lines += [f"error box: {b[:300]}" for b in self.boxes()]
        noise = ("favicon", "status of 404", "ERR_NAME_NOT_RESOLVED")  # the kits' CDN statics, offline
        lines += [f"console {c}" for c in self.console if not any(n in c for n in noise)]
        return ("\n  " + "\n  ".join(lines)) if lines else " (no refused request, no error shown)"


def expect(page: Any, watch: Watch, condition: str, what: str, show: str = "() => document.body.innerText",
           timeout_s: float = 8.0, tolerate: tuple[int, ...] = (), errors_ok: bool = False) -> None:  # fmt: skip
    """Wait until the JS ``condition`` holds; fail with what the page shows and what went wrong.

    Gives up early (1 s after it) once a request was refused (a status not in
    ``tolerate``) or an error box shows (unless ``errors_ok``): nothing more will come.
    """
    assert page.evaluate(f"() => typeof ({condition})()") != "function", (
        f"{condition} must be a test, not a function maker"
    )
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            page.wait_for_function(condition, timeout=250)
            return
        except PlaywrightTimeout:
            pass
        now = time.monotonic()
        bad = [t for t, status, _ in watch.refused if status not in tolerate]
        if not errors_ok and watch.boxes():
            bad.append(now - 0.25)
        if now > deadline or (bad and now - min(bad) > 1.0):
            shown = str(page.evaluate(show))[:400]
            raise AssertionError(f"{what}: not seen; the page shows {shown!r}{watch.report(tolerate)}")


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(accept_downloads=True)
    yield context
    context.close()


@pytest.fixture
def open_app(servers: dict[str, Topology], context: Any) -> Any:
    """``page, watch = open_app("ui", "ui_form")``: a new tab on that app."""

    def open_(group: str, name: str, query: str = "") -> tuple[Any, Watch]:
        page = context.new_page()
        page.set_default_timeout(15_000)
        watch = Watch(page, servers[group])
        watch.owner = open_page(page, servers[group], f"/{name}{query}")
        return page, watch

    return open_


def elsewhere(page: Any, watch: Watch) -> Any:
    """What the block sends reaches another worker than the page's, which relays it (several workers)."""
    return relayed(watch.topology, watch.owner, page)


def text(selector: str) -> str:
    return f"() => (document.querySelector({json.dumps(selector)}) || {{textContent: '<missing>'}}).textContent"


def text_is(selector: str, value: str) -> str:
    return f"() => ({text(selector)})() === {json.dumps(value)}"


def upload(page: Any, watch: Watch, selector: str, size: int) -> None:
    """Upload ``size`` random bytes; on several workers the upload reaches another worker than the
    page's, which relays it."""
    data = os.urandom(size)
    name = f"file-{size}.bin"
    with elsewhere(page, watch):
        page.set_input_files(selector, files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
    want = f"{name} {size} {hashlib.sha256(data).hexdigest()}"
    expect(page, watch, text_is(".got", want), f"the app echoing the uploaded file ({size} bytes) as {want!r}",
           text(".got"), timeout_s=30)  # fmt: skip


def drag(page: Any, x: float, y: float, dx: float, dy: float) -> None:
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()


def drag_gutter(page: Any, selector: str, dx: float, dy: float) -> None:
    box = page.locator(selector).bounding_box()
    drag(page, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, dx, dy)


# ---------------------------------------------------------------- htagui


FORMS = {  # (group, app): what a user fills in, as Playwright does it and as tab.submit() is told
    ("ui", "ui_form"): {"name": "Ada", "country": "be", "agree": True},
    ("bulma", "bulma_form"): {"name": "Ada", "fruit": "a", "agree": True, "memo": "two\nlines"},
}


@pytest.mark.feature("htagui apps")
@pytest.mark.feature("htbulma apps")
@pytest.mark.parametrize("group, name", list(FORMS), ids=[n for _, n in FORMS])
def test_the_test_clients_submit_sends_what_chromium_sends(open_app, group, name):
    """``tab.submit("form", values)`` without knowing how the kit wires its Form (htagui: an exposed
    ``_submit`` called by a script; htbulma: a bound ``_onsubmit`` with the fields as a JSON string):
    the same interaction as Chromium's, event fields included (but its time stamp), the same page."""
    from htag_sse.testing import HtagTestClient
    from tests.realapps.serve import app_of

    values = FORMS[(group, name)]
    page, watch = open_app(group, name)
    sent: list[dict[str, Any]] = []
    page.on("request", lambda r: sent.extend(_items(r.post_data)) if r.url.endswith("/interact") else None)
    for field, value in values.items():
        selector = f"form [name={field}]"
        if value is True:
            page.check(selector)
        elif page.evaluate(f"() => document.querySelector({json.dumps(selector)}).tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
    page.click("form button.send")
    expect(page, watch, "() => document.querySelector('.sent').textContent !== 'nothing sent'", "the form sent")
    browser = [i for i in sent if i["method"].endswith("submit")]

    posted: list[dict[str, Any]] = []

    async def record(request: Any) -> None:
        if request.url.path.endswith("/interact"):
            posted.extend(_items(request.content.decode()))

    def submit_with_the_test_client() -> tuple[str, str | None]:  # a thread of its own: Playwright's loop runs here
        with HtagTestClient(app_of(name)) as tab:
            tab.tab.client.http.event_hooks["request"].append(record)
            tab.submit("form", values)
            return tab.find(".sent").text, tab.find("form").attrs["id"]

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        shown, form_id = pool.submit(submit_with_the_test_client).result(timeout=60)
    ours = [i for i in posted if i["method"].endswith("submit")]
    assert len(browser) == len(ours) == 1, (sent, posted)
    (b,), (o,) = browser, ours
    assert o["id"] == int(form_id) and b["id"] == int(page.get_attribute("form", "id"))
    assert {**o, "id": 0, "event": {**o["event"], "timeStamp": 0}} == {**b, "id": 0, "event": {**b["event"], "timeStamp": 0}}
    assert shown == page.inner_text(".sent")


def _items(body: str | None) -> list[dict[str, Any]]:
    data = json.loads(body or "null")
    return data if isinstance(data, list) else [data] if isinstance(data, dict) else []


@pytest.mark.feature("htagui apps")
def test_htagui_form_sends_its_fields_on_submit(open_app):
    page, watch = open_app("ui", "ui_form")
    page.fill("input.name", "Ada")
    page.select_option("select[name=country]", "be")
    page.check("input.agree")
    with elsewhere(page, watch):
        page.click("button.send")
    want = json.dumps({"agree": "on", "country": "be", "level": "5", "name": "Ada"}, sort_keys=True)
    expect(page, watch, text_is(".sent", want), "the submitted form (htagui Form -> @expose'd _submit)", text(".sent"))


@pytest.mark.feature("htagui apps")
def test_htagui_live_fields_report_each_change(open_app):
    page, watch = open_app("ui", "ui_form")
    steps = [
        (lambda: (page.fill("input.itext", "hello"), page.press("input.itext", "Tab")), "IText='hello'"),
        (lambda: (page.fill("textarea.itextarea", "two words"), page.press("textarea.itextarea", "Tab")),
         "ITextarea='two words'"),
        (lambda: page.select_option("select.iselect", "b"), "ISelect='b'"),
        (lambda: page.check("input.ibool"), "IBool=True"),
        (lambda: page.eval_on_selector("input.irange", "e => {e.value = 8; e.dispatchEvent(new Event('change'))}"),
         "IRange=8"),
        (lambda: page.check(".iradios input[value=y]"), "IRadios='y'"),
    ]  # fmt: skip
    for act, want in steps:
        act()
        expect(page, watch, text_is(".live", want), f"the field's change reported as {want!r}", text(".live"))


@pytest.mark.feature("htagui apps")
def test_htagui_dialogs_open_answer_and_close(open_app):
    page, watch = open_app("ui", "ui_dialog")
    page.click("button.b-alert")
    page.wait_for_selector(".alert-text")
    page.click("button:text-is('X')")
    expect(page, watch, "() => !document.querySelector('.alert-text')", "the alert closed by its X button")

    page.click("button.b-confirm")
    page.click("button:text-is('Yes')")
    expect(page, watch, text_is(".answer", "confirm: True"), "the confirm's answer", text(".answer"))
    expect(page, watch, "() => !Array.from(document.querySelectorAll('button')).some(b => b.textContent == 'Yes')",
           "the confirm dialog closed")  # fmt: skip

    page.click("button.b-toast")
    page.wait_for_selector(".toast-text")
    expect(page, watch, "() => !document.querySelector('.toast-text')", "the toast gone after its 1.5 s")

    page.click("button.b-drawer")
    page.wait_for_selector(".drawer-text")
    page.mouse.click(page.viewport_size["width"] - 10, 300)  # the veil, right of the left drawer
    expect(page, watch, "() => !document.querySelector('.drawer-text')", "the drawer closed by a click beside it")

    page.click("button.b-pop")
    page.click("div:text-is('second')")
    expect(page, watch, text_is(".answer", "menu: second"), "the pop menu's entry chosen", text(".answer"))
    menu_open = "() => Array.from(document.querySelectorAll('div'), d => d.textContent).includes('second')"
    page.click("button.b-pop")
    page.wait_for_function(menu_open)
    page.mouse.click(page.viewport_size["width"] - 10, page.viewport_size["height"] - 10)  # on the pop's veil
    expect(page, watch, f"() => !({menu_open})()", "the pop menu closed by a click beside it (Dialog.popclose)")

    page.click("button.b-block")
    page.click("button.b-unblock")
    expect(page, watch, "() => !document.querySelector('.b-unblock')", "the blocking dialog closed")

    with page.expect_download() as download:
        page.click("button.b-download")
    assert Path(download.value.path()).read_bytes() == b"hello download"
    assert download.value.suggested_filename == "hello.txt"


@pytest.mark.feature("htagui apps")
def test_htagui_prompt_answers_and_closes(open_app):
    page, watch = open_app("ui", "ui_dialog")
    page.click("button.b-prompt")
    page.fill("input[name=promptvalue]", "zoe")
    page.click("button:text-is('Ok')")
    expect(page, watch, text_is(".answer", "prompt: zoe"), "the prompt's answer (a Form -> @expose'd _submit)",
           text(".answer"))  # fmt: skip
    expect(page, watch, "() => !document.querySelector('input[name=promptvalue]')", "the prompt closed")


@pytest.mark.feature("htagui apps")
def test_htagui_clipboard_paste_reaches_the_app(open_app, context, servers):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=servers["ui"].url)
    page, watch = open_app("ui", "ui_dialog")
    page.click("button.b-copy")
    page.wait_for_function("async () => (await navigator.clipboard.readText()) === 'from the clipboard'")
    page.click("button.b-paste")
    expect(page, watch, text_is(".answer", "pasted: from the clipboard"),
           "the pasted text (clipboard_paste -> @expose'd _clipboard_paste)", text(".answer"))  # fmt: skip


@pytest.mark.feature("htagui apps")
def test_htagui_tabs_switch_by_click_and_by_code(open_app):
    page, watch = open_app("ui", "ui_tabs")
    page.click("button.tab:text-is('two')")
    expect(page, watch, text_is(".pane", "content two"), "tab two shown", text(".pane"))
    expect(page, watch, text_is(".tabinfo", "selected 1"), "onchange told the app", text(".tabinfo"))
    page.click("button.b-three")
    expect(page, watch, text_is(".pane", "content three"), "tab three shown by code", text(".pane"))
    page.click("button.b-add")
    expect(page, watch, text_is(".pane", "fresh content"), "the added tab shown", text(".pane"))
    assert page.eval_on_selector_all("button.tab", "bs => bs.map(b => b.textContent)") == [
        "one",
        "two",
        "three",
        "fresh",
    ]


@pytest.mark.feature("htagui apps")
def test_htagui_splitters_report_their_new_sizes(open_app):
    page, watch = open_app("ui", "ui_split")
    drag_gutter(page, ".hsplit > .gutter", 120, 0)
    expect(page, watch, "() => /^HSplit \\[\\d+, \\d+\\]$/.test(document.querySelector('.sizes').textContent)",
           "the HSplit's new sizes (Split.js onDragEnd -> @expose'd _onchange)", text(".sizes"))  # fmt: skip
    left, right = json.loads(page.inner_text(".sizes").removeprefix("HSplit "))
    assert left > 55 and right < 45, f"dragged 120 px right, sizes {left}/{right}"
    drag_gutter(page, ".vsplit > .gutter", 0, 40)
    expect(page, watch, "() => document.querySelector('.sizes').textContent.startsWith('VSplit')",
           "the VSplit's new sizes", text(".sizes"))  # fmt: skip


@pytest.mark.feature("htagui apps")
def test_htagui_sortable_reports_the_new_order(open_app):
    page, watch = open_app("ui", "ui_sortable")
    page.locator(".item-a").drag_to(page.locator(".item-c"))
    expect(page, watch, text_is(".order", "b c a d"), "the new order (Sortable -> @expose'd onupdate)", text(".order"))


@pytest.mark.feature("htagui apps")
@pytest.mark.feature("generators")
def test_htagui_infinite_scroll_loads_every_item(open_app):
    page, watch = open_app("ui", "ui_scroll")
    count = "document.querySelectorAll('.item').length"
    assert page.evaluate(f"() => {count}") == 20
    deadline = time.monotonic() + 20
    while (before := page.evaluate(f"() => {count}")) < 100:  # items may arrive between two reads
        page.eval_on_selector(".box > div", "e => e.scrollTop = e.scrollHeight")
        expect(page, watch, f"() => {count} > {before}", f"more than {before} items after scrolling to the end "
               "(VScrollPager -> @expose'd _loadmore, a generator)", f"() => {count} + ' items'")  # fmt: skip
        assert time.monotonic() < deadline, "the 100 items did not all load within 20 s"
    assert page.evaluate("() => Array.from(document.querySelectorAll('.item'), e => e.textContent)") == [
        f"item {i}" for i in range(1, 101)
    ]


@pytest.mark.feature("htagui apps")
@pytest.mark.feature("F5 keeps the live page")
def test_htagui_hash_navigation_shows_the_right_page(open_app):
    page, watch = open_app("ui", "ui_view")
    view = "() => location.hash + ' -> ' + document.querySelector('.view').textContent"
    page.click("button.b-p1")
    expect(
        page, watch, text_is(".view", "this is page 1"), "page 1 (View.go -> hashchange -> @expose'd _hashchange)", view
    )
    assert page.evaluate("() => location.hash") == "#p1"
    page.click("button.b-p2")
    expect(page, watch, text_is(".view", "this is page 2"), "page 2", view)
    reload(page, watch.topology, watch.owner)
    expect(page, watch, text_is(".view", "this is page 2"), "page 2 still shown after F5 on #p2", view, timeout_s=3)
    page.go_back()
    expect(page, watch, text_is(".view", "this is page 1"), "page 1 again after Back", view)
    page.go_back()
    expect(page, watch, text_is(".view", "welcome"), "the welcome page after Back again", view)


@pytest.mark.feature("htagui apps")
@pytest.mark.feature("uploads")
def test_htagui_file_upload(open_app):
    page, watch = open_app("ui", "ui_upload")
    upload(page, watch, "input.upload", 1000)
    upload(page, watch, "input.upload", 3000)


@pytest.mark.feature("htagui apps")
@pytest.mark.feature("uploads")
def test_htagui_file_upload_of_10_mb_with_the_default_options(open_app):
    page, watch = open_app("ui", "ui_upload")
    upload(page, watch, "input.upload", 10 * MB)  # base64 in a JSON body: ~13.4 MB


@pytest.mark.feature("htagui apps")
def test_htagui_shoelace_fields_report_each_change(open_app):
    """The shoelace flavour's fields call ``IField._iset_sl``, a method of a mixin after htag's Tag in the MRO."""
    page, watch = open_app("shoelace", "sl_fields")
    page.eval_on_selector(".itext", "e => { e.value = 'shoe'; e.dispatchEvent(new CustomEvent('sl-change')) }")
    expect(page, watch, text_is(".live", "IText='shoe'"), "the sl-change reported (self.bind._iset_sl)", text(".live"))


# ---------------------------------------------------------------- htbulma


@pytest.mark.feature("htbulma apps")
def test_htbulma_form_sends_its_fields_on_submit(open_app):
    page, watch = open_app("bulma", "bulma_form")
    page.fill(".form input.name", "Ada")
    page.press(".form input.name", "Tab")
    page.check(".form input.agree")
    with elsewhere(page, watch):
        page.click("button.send")
    want = json.dumps({"agree": "on", "fruit": "b", "level": "4", "memo": "", "name": "Ada"}, sort_keys=True)
    expect(
        page, watch, text_is(".sent", want), "the submitted form (htbulma Form -> self.bind._onsubmit)", text(".sent")
    )


@pytest.mark.feature("htbulma apps")
def test_htbulma_reactive_inputs_report_each_change(open_app):
    page, watch = open_app("bulma", "bulma_form")
    steps = [
        (lambda: (page.fill("input.r-input", "typed"), page.press("input.r-input", "Tab")), "Input='typed'"),
        (lambda: page.select_option("select.r-select", "3"), "Select=3"),
        (lambda: page.check("input.r-check"), "Checkbox=True"),
        (lambda: page.check(".r-radio input[value='2']"), "Radio=2"),
        (lambda: page.click(".r-buttons a:text-is('two')"), "SelectButtons=2"),
    ]
    for act, want in steps:
        act()
        expect(page, watch, text_is(".live", want), f"the input's change reported as {want!r}", text(".live"))


@pytest.mark.feature("htbulma apps")
def test_htbulma_service_dialogs_open_answer_and_close(open_app):
    page, watch = open_app("bulma", "bulma_dialogs")
    no_modal = "() => !document.querySelector('.modal')"
    page.click("button.b-alert")
    page.wait_for_selector(".alert-text")
    page.click(".modal-close")
    expect(page, watch, no_modal, "the alert closed")
    for choice, want in (("OK", "confirm: ok"), ("Cancel", "confirm: cancel")):
        page.click("button.b-confirm")
        page.click(f".modal button:text-is('{choice}')")
        expect(page, watch, text_is(".answer", want), f"the confirm's {choice}", text(".answer"))
        expect(page, watch, no_modal, "the confirm closed")
    page.click("button.b-prompt")
    page.fill(".modal input", "zoe")
    page.click(".modal button:text-is('OK')")
    expect(page, watch, text_is(".answer", "prompt: zoe"), "the prompt's answer", text(".answer"))
    expect(page, watch, no_modal, "the prompt closed")
    page.click("button.b-toast")
    page.wait_for_selector(".toast-text")
    expect(page, watch, "() => !document.querySelector('.toast-text')", "the toast gone after its 1.5 s")
    page.click("button.b-menu")
    page.click("a.entry-one")
    expect(page, watch, text_is(".answer", "menu: one"), "the popmenu's entry", text(".answer"))
    expect(page, watch, "() => !document.querySelector('a.entry-one')", "the popmenu closed")
    page.click("button.b-toaster")
    page.wait_for_selector(".old-toast")
    expect(page, watch, "() => !document.querySelector('.old-toast')", "the Toaster's toast gone after 1.5 s")


@pytest.mark.feature("htbulma apps")
def test_htbulma_mbox_confirm_answers_and_closes(open_app):
    page, watch = open_app("bulma", "bulma_dialogs")
    page.click("button.b-mconfirm")
    page.click(".modal button:text-is('OK')")
    expect(page, watch, text_is(".answer", "mbox: ok"), "MBox.confirm's OK (self.bind._confirm)", text(".answer"))
    expect(page, watch, "() => !document.querySelector('.modal')", "the MBox closed")


@pytest.mark.feature("htbulma apps")
def test_htbulma_mbox_prompt_answers_and_closes(open_app):
    page, watch = open_app("bulma", "bulma_dialogs")
    page.click("button.b-mprompt")
    page.fill(".modal input", "lyon")
    page.click(".modal button:text-is('OK')")
    expect(page, watch, text_is(".answer", "mbox prompt: lyon"), "MBox.prompt's answer (self.bind._prompt)",
           text(".answer"))  # fmt: skip
    expect(page, watch, "() => !document.querySelector('.modal')", "the MBox closed")


@pytest.mark.feature("htbulma apps")
def test_htbulma_widgets_tabs_table_tags_nav_split(open_app):
    page, watch = open_app("bulma", "bulma_widgets")
    page.click(".tabs-widget a:text-is('Two')")
    expect(page, watch, text_is(".tabs-widget .pane", "pane two"), "tab Two shown", text(".tabs-widget .pane"))
    page.click(".table-widget a.pagination-link:text-is('2')")
    expect(
        page, watch, text_is(".table-widget tbody td", "row 11"), "the table's page 2", text(".table-widget tbody td")
    )
    page.click(".tags-widget span:text-is('pear')")
    page.click("button.b-tags")
    expect(page, watch, text_is(".info", "tags: apple,pear"), "the tag switched on", text(".info"))
    page.click("nav a.navbar-item:text-is('about')")
    expect(page, watch, text_is(".info", "nav: about"), "the nav entry's callback", text(".info"))
    x, y = page.evaluate("""() => { const g = document.querySelector('wc-splyt').shadowRoot.querySelector('.gutter');
                                    const r = g.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2] }""")
    drag(page, x, y, 100, 0)
    expect(page, watch, "() => document.querySelector('wc-splyt').getAttribute('sizes') !== '[50, 50]'",
           "the split's new sizes", "() => document.querySelector('wc-splyt').getAttribute('sizes')")  # fmt: skip


@pytest.mark.feature("htbulma apps")
@pytest.mark.feature("uploads")
def test_htbulma_file_upload(open_app):
    page, watch = open_app("bulma", "bulma_widgets")
    upload(page, watch, "input.upload", 1000)


@pytest.mark.feature("htbulma apps")
@pytest.mark.feature("uploads")
def test_htbulma_file_upload_of_10_mb_with_the_default_options(open_app):
    page, watch = open_app("bulma", "bulma_widgets")
    upload(page, watch, "input.upload", 10 * MB)


@pytest.mark.feature("htbulma apps")
def test_htbulma_local_storage_loads_at_start_and_in_a_new_tab(open_app):
    """htbulma's ``LocalStorage`` (as in htbulma's storage example) asks the browser for the stored
    JSON at start with ``self.call.<a function it sets on the app instance>(...)``: the page's code
    wrote that call for that tag, so it is allowed, whatever the app module's text says."""
    page, watch = open_app("bulma", "bulma_storage")
    expect(page, watch, text_is(".shown", "hello ?"), "the store loaded at start (redrawn by its loader)",
           text(".shown"))  # fmt: skip
    page.click("button.b-set2")
    expect(page, watch, text_is(".shown", "hello 2"), "the value set", text(".shown"))
    assert json.loads(page.evaluate("() => localStorage.getItem('realapps')")) == {"v": 2}
    second, watch2 = open_app("bulma", "bulma_storage")
    expect(second, watch2, text_is(".shown", "hello 2"), "a new tab reading the stored value", text(".shown"))
    second.click("button.b-clear")
    expect(second, watch2, text_is(".shown", "hello ?"), "the store cleared", text(".shown"))
    assert second.evaluate("() => localStorage.getItem('realapps')") is None


@pytest.mark.feature("htbulma apps")
@pytest.mark.feature("errors are shown")
def test_a_handler_failing_without_message_is_shown_and_the_page_goes_on(open_app):
    """``lambda o: service.alert(...)`` returns the modal: htag's dispatcher fails on ``assert r is None``."""
    page, watch = open_app("bulma", "bulma_dialogs")
    page.click("button.b-lambda")
    expect(page, watch, "() => !!document.querySelector('.htag-sse-error')", "the error shown", errors_ok=True,
           timeout_s=5, tolerate=(500,))  # fmt: skip
    assert not [what for _, status, what in watch.refused if status >= 500], (
        f"the server answered the app's exception with a 5xx instead of htag's {{'err': ...}}:{watch.report()}"
    )
    page.evaluate("() => document.querySelectorAll('.htag-sse-error').forEach(e => e.remove())")
    page.click("button.b-confirm")
    expect(page, watch, "() => !!document.querySelector('.modal button')", "the confirm dialog of a later click")
    page.click(".modal button:text-is('Cancel')")
    expect(page, watch, text_is(".answer", "confirm: cancel"), "a later confirm working", text(".answer"))


# ---------------------------------------------------------------- plain htag apps


def panel_ends_with(value: str) -> str:
    return f"() => document.querySelector('.panel').innerText.endsWith({json.dumps(value)})"


def count_posts(page: Any) -> list[int]:
    """How many interactions the page sends (a POST may carry a batch)."""
    sent = [0]

    def seen(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/interact"):
            body = json.loads(request.post_data or "null")
            sent[0] += len(body) if isinstance(body, list) else 1

    page.on("request", seen)
    return sent


@pytest.mark.feature("htag's examples")
def test_htags_manual_event_test_shows_what_htags_runner_shows(open_app):
    """htag's own manual_tests_events.py (1.0.0), every button in turn: the texts htag's runner shows
    for the same clicks (recorded side by side with htag 1.0.0's Runner, WebSocket and HTTP modes)."""
    page, watch = open_app("plain", "events")
    steps = [
        ("js-arg", "wtrue"), ("str-arg", "wtoto"), ("stream-out", "abcdkikix"), ("stream-bound", "abcdkikixabcdkikix"),
        ("outside", "abcdkikixabcdkikix"), ("lambda", "kikixwlambda"), ("list", "wlambdaffmmwKIKI"), ("ff", "wKIKIff"),
        ("mm", "ffmm"), ("old-mm", "ffmmmm"), ("ymm", "mmmm1mm2"), ("old-ymm", "mm1mm2mm1mm2"), ("amm", "mm2amm"),
        ("old-amm", "ammamm"), ("aymm", "ammaymm1aymm2"), ("old-aymm", "aymm1aymm2aymm1aymm2"),
    ]  # fmt: skip
    for name, shown in steps:
        page.click(f".panel button.{name}")
        expect(page, watch, panel_ends_with(shown), f"the panel after a click on {name!r}",
               "() => document.querySelector('.panel').innerText.slice(-60)")  # fmt: skip
    page.click(".panel .item .delete")
    expect(page, watch, text_is(".panel .item .delete", "xb"), "the item's x marked by its callback", text(".item"))


@pytest.mark.feature("htag's examples")
def test_a_generator_streams_into_the_button_clicked_once_per_click_or_enter(open_app):
    """``lambda o: self.stream()``: the items go into the button clicked. One user action runs the
    handlers once: a click on the x streamed into it (it bubbles to the button) streams once more,
    and so does Enter on that x, which keeps the focus (htag's runner rebuilds the button's content
    for each streamed item, ``innerHTML +=``, and the x it rebuilt has lost the focus: Enter does
    nothing there; htag-sse appends, as a page does: see tests/realapps/README.md)."""
    page, watch = open_app("plain", "events")
    sent = count_posts(page)
    page.click(".panel button.stream-in")
    expect(page, watch, text_is(".panel .stream-in", "stream inabcdkikix"), "the items in the button", text(".stream-in"))
    page.click(".panel .stream-in .delete")
    expect(page, watch, text_is(".panel .stream-in", "stream inabcdkikixabcdkikix"), "streamed once more",
           text(".stream-in"))  # fmt: skip
    assert page.evaluate("() => document.activeElement.textContent") == "x"
    page.keyboard.press("Enter")
    expect(page, watch, text_is(".panel .stream-in", "stream inabcdkikixabcdkikixabcdkikix"), "once more for Enter",
           text(".stream-in"))  # fmt: skip
    assert sent[0] == 5 + 6 + 6, sent  # each: a click and 4 pulls of the next items (+ the x's own handler)


@pytest.mark.feature("htag's examples")
def test_a_form_sent_by_enter_adds_one_item_per_enter(open_app):
    """Typing then Enter in an input sends its form once: one item per Enter, as under htag's runner."""
    page, watch = open_app("plain", "events")
    sent = count_posts(page)
    page.click("input.q")
    page.keyboard.type("one")
    page.keyboard.press("Enter")
    expect(page, watch, "() => document.querySelectorAll('.todos li').length === 1", "one item", text(".todos"))
    page.keyboard.type("two")
    page.keyboard.press("Enter")
    expect(page, watch, "() => document.querySelectorAll('.todos li').length === 2", "two items", text(".todos"))
    assert page.inner_text(".todos").split("\n") == ["one", "onetwo"] and sent[0] == 2, (page.inner_text(".todos"), sent)


@pytest.mark.feature("htag's examples")
def test_crud_update_bound_with_self_bind_update(open_app):
    page, watch = open_app("plain", "crud")
    options = "() => Array.from(document.querySelectorAll('select.names option'), o => o.textContent).join(' | ')"
    page.select_option("select.names", "1")
    expect(page, watch, "() => document.querySelector('input.name').value === 'Mustermann, Max'", "the name selected",
           "() => document.querySelector('input.name').value")  # fmt: skip
    page.fill("input.name", "Doe, Jane")
    page.press("input.name", "Tab")
    with elsewhere(page, watch):
        page.click("button.update")
    expect(page, watch, f"() => ({options})() === 'Emil, Hans | Doe, Jane | Tisch, Roman'",
           "the entry renamed by the app's own update() (bound with self.bind.update())", options)  # fmt: skip


@pytest.mark.feature("htag's examples")
def test_crud_create_delete_filter(open_app):
    page, watch = open_app("plain", "crud")
    options = "() => Array.from(document.querySelectorAll('select.names option'), o => o.textContent).join(' | ')"
    page.fill("input.name", "New, One")
    page.press("input.name", "Tab")
    page.click("button.create")
    expect(page, watch, f"() => ({options})().endsWith('New, One')", "the created entry", options)
    page.select_option("select.names", "0")
    page.click("button.delete")
    expect(page, watch, f"() => ({options})() === 'Mustermann, Max | Tisch, Roman | New, One'", "Emil deleted", options)
    page.fill("input.filter", "N")
    page.press("input.filter", "Tab")
    expect(page, watch, f"() => ({options})() === 'New, One'", "the list filtered on 'N'", options)


@pytest.mark.feature("htag's examples")
@pytest.mark.feature("F5 keeps the live page")
def test_calculator_keeps_what_was_typed_across_f5(open_app):
    page, watch = open_app("plain", "calc")
    for key in "12+3":
        page.click(f"button[data-key='{key}']")
    expect(page, watch, text_is(".display", "12+3"), "the keys typed", text(".display"))
    reload(page, watch.topology, watch.owner)
    expect(page, watch, text_is(".display", "12+3"),
           "after F5, what was typed (self.txt: htag's runner keeps the instance across a reload)", text(".display"))  # fmt: skip
    page.click("button.k-eq")
    expect(page, watch, text_is(".display", "15"), "12+3 computed after F5", text(".display"))
    page.focus(".calc")
    page.keyboard.type("*2")
    page.keyboard.press("Enter")
    expect(page, watch, text_is(".display", "30"), "the keyboard's *2 Enter", text(".display"))


@pytest.mark.feature("htag's examples")
@pytest.mark.feature("F5 keeps the live page")
def test_a_counter_in_an_attribute_survives_f5(open_app):
    page, watch = open_app("plain", "counter")
    for _ in range(3):
        page.click("button.inc")
    expect(page, watch, text_is(".count", "3"), "3 clicks counted", text(".count"))
    reload(page, watch.topology, watch.owner)
    expect(page, watch, text_is(".count", "3"), "the count (self.n) still 3 after F5, as under htag's runner",
           text(".count"), timeout_s=3)  # fmt: skip
    page.click("button.inc")
    expect(page, watch, text_is(".count", "4"), "the count going on from 3 after F5", text(".count"))


@pytest.mark.feature("htag's examples")
@pytest.mark.feature("a second tab gets a page of its own")
def test_two_tabs_of_the_same_url_keep_separate_counts(open_app):
    first, watch1 = open_app("plain", "counter")
    with pinned(watch1.topology, watch1.owner, r"event=page\.created"):  # the first tab's worker paused
        second, watch2 = open_app("plain", "counter")
    for _ in range(2):
        first.click("button.inc")
    expect(first, watch1, text_is(".count", "2"), "2 clicks in the first tab", text(".count"))
    second.click("button.inc")
    expect(second, watch2, text_is(".count", "1"), "the second tab counting on its own", text(".count"))
    first.click("button.inc")
    expect(first, watch1, text_is(".count", "3"), "the first tab going on", text(".count"))
    assert second.inner_text(".count") == "1"


@pytest.mark.feature("htag's examples")
@pytest.mark.feature("errors are shown")
def test_a_refused_interaction_does_not_break_the_page(open_app):
    """A double click on a button that removes itself: the second click targets a removed tag."""
    page, watch = open_app("plain", "counter")
    page.dblclick("button.once")
    expect(page, watch, text_is(".note", "button removed"), "the button gone", text(".note"), tolerate=(404,))
    page.click("button.inc")
    expect(page, watch, text_is(".count", "1"), "a normal click after the refused one", text(".count"), tolerate=(404,))
    assert watch.boxes() == [], f"an error shown for a click on a removed button:{watch.report(tolerate=(404,))}"


@pytest.mark.feature("htag's examples")
@pytest.mark.feature("batches")
def test_every_htag_binding_style_runs_its_handler(open_app):
    page, watch = open_app("plain", "bindings", "?delay=800")
    with elsewhere(page, watch):  # the 22 interactions reach another worker, which relays them
        page.click("button.all")
    expect(page, watch, "() => document.querySelectorAll('.row b').length === 22", "a star in each of the 22 rows",
           "() => Array.from(document.querySelectorAll('.row'), r => r.textContent).join(' / ')")  # fmt: skip
    expect(page, watch, text_is(".result", "OK"), "the app's own verdict (@expose'd valid)", text(".result"))
    assert (
        page.evaluate("() => Array.from(document.querySelectorAll('.row'), r => r.querySelectorAll('b').length)")
        == [1] * 22
    )


@pytest.mark.feature("htag's examples")
@pytest.mark.feature("batches")
def test_a_burst_of_22_clicks_is_not_22_round_trips(open_app, context):
    """With 150 ms between browser and server, one round trip per click takes over 3.3 s;
    htag's runner (one WebSocket) answers the 22 clicks in about 0.1 s, its HTTP mode in about 0.7 s."""
    page, watch = open_app("plain", "bindings", "?delay=3000")
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 150, "downloadThroughput": -1, "uploadThroughput": -1})  # fmt: skip
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    started = time.monotonic()
    page.click("button.all")
    try:
        page.wait_for_function("() => document.querySelectorAll('.row b').length === 22", timeout=1500)
    except PlaywrightTimeout:
        stars = page.evaluate("() => document.querySelectorAll('.row b').length")
        raise AssertionError(
            f"with 150 ms of network latency, only {stars} of the 22 clicks were answered after "
            f"{time.monotonic() - started:.1f} s ({len(posts)} POSTs so far: one round trip per click?)"
            f"{watch.report()}"
        ) from None
