"""A push must not wipe what the user is typing: updates are morphed in (static/morph.js).

Against real servers on every topology (one worker, two workers, two hosts on Redis: apps in
tests/support/typingapps.py, whose roots re-render themselves whole several times a second; on
several workers, the pushes come through a stream held by another worker than the page's), then
static/morph.js on its own for the rule on form values: a value the server renders differently
from its last rendering wins, else the user's stays.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.processes import ROOT
from harness.topologies import Topology
from tests.support.pins import open_page

pytestmark = [pytest.mark.browser]

TICKS = "Number(document.querySelector('.ticks').textContent)"


def ticks(page: Any) -> int:
    return int(page.evaluate(TICKS))


def pushes(page: Any, n: int) -> None:
    """Wait until the server pushed ``n`` more renderings of the root than the page shows now."""
    page.wait_for_function(f"n => {TICKS} >= n", arg=ticks(page) + n, timeout=10_000)


def js_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def opened(page: Any, topology: Topology, app: str) -> Any:
    open_page(page, topology, f"/{app}", stream_elsewhere=True)
    page.wait_for_function(f"htagSSEState().online && {TICKS} >= 1")  # the clock's pushes arrive
    return page


def active(page: Any) -> str:
    return str(page.evaluate("document.activeElement.className || document.activeElement.tagName"))


def caret(page: Any) -> list[int]:
    return list(page.evaluate("[document.activeElement.selectionStart, document.activeElement.selectionEnd]"))


# ---------------------------------------------------------------- against a server


@pytest.mark.feature("typing survives pushes")
def test_typing_hello_one_key_at_a_time_through_10_pushes_keeps_focus_value_and_caret(topology: Topology, tab: Any) -> None:
    page = opened(tab, topology, "typing")
    errors = js_errors(page)
    page.click("input.typed")
    start = ticks(page)
    for key in "hello":
        page.keyboard.type(key)
        pushes(page, 2)  # the root re-rendered twice between two keys
    assert ticks(page) - start >= 10
    assert active(page) == "typed"
    assert page.input_value("input.typed") == "hello"
    assert caret(page) == [5, 5]
    assert errors == []


@pytest.mark.feature("typing survives pushes")
def test_a_caret_and_a_selection_in_the_middle_of_the_text_survive_pushes(topology: Topology, tab: Any) -> None:
    page = opened(tab, topology, "typing")
    page.click("textarea.notes")
    page.keyboard.type("first line")
    page.keyboard.press("Enter")
    page.keyboard.type("second")
    for _ in range(3):
        page.keyboard.press("ArrowLeft")  # the caret between "sec" and "ond"
    pushes(page, 3)
    assert active(page) == "notes" and caret(page) == [14, 14]
    page.keyboard.type("X")
    assert page.input_value("textarea.notes") == "first line\nsecXond"

    page.click("input.typed")
    page.keyboard.type("hello world")
    page.evaluate("document.querySelector('input.typed').setSelectionRange(2, 7)")  # "llo w" selected
    pushes(page, 3)
    assert active(page) == "typed" and caret(page) == [2, 7]
    page.keyboard.type("Y")  # replaces the selection
    assert page.input_value("input.typed") == "heYorld"
    pushes(page, 2)
    assert page.input_value("input.typed") == "heYorld" and caret(page) == [3, 3]


@pytest.mark.feature("typing survives pushes")
def test_an_opened_details_a_scrolled_div_and_the_page_scroll_survive_pushes(topology: Topology, tab: Any) -> None:
    page = opened(tab, topology, "typing")
    page.set_viewport_size({"width": 800, "height": 600})
    page.click("summary.summary")  # the user opens it
    assert page.evaluate("document.querySelector('details.more').open")
    page.evaluate("document.querySelector('.scroller').scrollTop = 150")
    page.evaluate("window.scrollTo(0, 700)")
    pushes(page, 3)
    assert page.evaluate("document.querySelector('details.more').open")
    assert page.evaluate("document.querySelector('.scroller').scrollTop") == 150
    assert page.evaluate("window.scrollY") == 700
    page.click("summary.summary")  # and closes it: closed it stays
    pushes(page, 3)
    assert not page.evaluate("document.querySelector('details.more').open")


@pytest.mark.feature("typing survives pushes")
def test_a_tags_js_sets_its_listener_up_once_however_many_renderings(topology: Topology, tab: Any) -> None:
    page = opened(tab, topology, "typing")
    pushes(page, 5)  # its js ran at each rendering: the element is new each time, as with htag's runner
    page.click("button.withjs")
    page.wait_for_function("window.jsClicks === 1")
    pushes(page, 2)
    assert page.evaluate("window.jsClicks") == 1


@pytest.mark.feature("typing survives pushes")
def test_the_server_clearing_an_input_wins_over_what_the_user_typed(topology: Topology, tab: Any) -> None:
    page = opened(tab, topology, "todo")
    errors = js_errors(page)
    for n, word in enumerate(["milk", "eggs"], 1):
        page.click("input.entry")
        for key in word:
            page.keyboard.type(key)
            pushes(page, 2)
        page.click("button.add")  # the change (the value, kept in the input's attribute), then "add"
        page.wait_for_function("n => document.querySelectorAll('.items li').length === n", arg=n)
        page.wait_for_function("document.querySelector('input.entry').value === ''")
        pushes(page, 2)
        assert page.input_value("input.entry") == ""
    assert page.eval_on_selector_all(".items li", "els => els.map(e => e.textContent)") == ["milk", "eggs"]
    assert errors == []


@pytest.mark.feature("typing survives pushes")
def test_a_focused_input_the_answer_removes_leaves_focus_on_the_body_and_the_page_working(topology: Topology, tab: Any) -> None:
    page = opened(tab, topology, "vanishing")
    errors = js_errors(page)
    page.click("input.kept")
    page.keyboard.type("keep")
    pushes(page, 2)
    page.click("input.doomed")
    page.keyboard.type("bye")  # each key an interaction; the last one's answer removes this input
    page.wait_for_function("document.querySelector('.status').textContent === 'removed'")
    assert page.query_selector("input.doomed") is None
    assert page.evaluate("document.activeElement === document.body")
    pushes(page, 2)
    assert page.input_value("input.kept") == "keep"  # what the user typed elsewhere stays
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.status').textContent === 'count 1'")
    assert errors == []


# ---------------------------------------------------------------- static/morph.js on its own


@pytest.fixture
def page(tab: Any) -> Any:
    tab.set_content("<!DOCTYPE html><html><head></head><body></body></html>")
    tab.add_script_tag(path=str(ROOT / "static" / "morph.js"))
    return tab


def render(page: Any, html: str) -> None:
    """The page's first rendering (as the server's GET gives it)."""
    page.evaluate("html => { document.body.outerHTML = html; htagMorph.remember(document) }", html)


def update(page: Any, html: str, fresh: list[str] | None = None) -> None:
    """An update of the element whose id starts ``html`` (as an answer's ``update`` gives it)."""
    page.evaluate(
        """([html, fresh]) => {
            const id = html.match(/id="([^"]+)"/)[1];
            htagMorph.update(document.getElementById(id), html, {fresh: new Set(fresh)});
        }""",
        [html, fresh or []],
    )


def test_a_value_the_server_renders_as_last_time_leaves_the_users_a_new_one_wins(page):
    render(page, '<body id="1"><input id="2" value="a"><textarea id="3">t</textarea></body>')
    page.fill("input", "typed")
    page.fill("textarea", "notes")
    update(page, '<body id="1"><p id="4">new</p><input id="2" value="a"><textarea id="3">t</textarea></body>')
    assert page.input_value("input") == "typed" and page.input_value("textarea") == "notes"
    update(page, '<body id="1"><p id="4">new</p><input id="2" value=""><textarea id="3"></textarea></body>')
    assert page.input_value("input") == "" and page.input_value("textarea") == ""
    page.fill("input", "again")
    update(page, '<body id="1" class="x"><input id="2" value=""></body>')
    assert page.input_value("input") == "again"


def test_checkboxes_and_selects_follow_the_same_rule(page):
    render(
        page,
        '<body id="1"><input id="2" type="checkbox"><select id="3"><option id="4">a</option>'
        '<option id="5">b</option><option id="6">c</option></select></body>',
    )
    page.check("input")
    page.select_option("select", "b")
    same = (
        '<body id="1"><input id="2" type="checkbox"><select id="3"><option id="4">a</option>'
        '<option id="5">b</option><option id="6">c</option></select><i id="7">x</i></body>'
    )
    update(page, same)
    assert page.is_checked("input") and page.input_value("select") == "b"
    update(page, same.replace('type="checkbox"', 'type="checkbox" checked').replace('id="6"', 'id="6" selected'))
    assert page.is_checked("input") and page.input_value("select") == "c"
    page.uncheck("input")
    page.select_option("select", "a")
    update(page, same.replace('type="checkbox"', 'type="checkbox" checked').replace('id="6"', 'id="6" selected'))
    assert not page.is_checked("input") and page.input_value("select") == "a"  # the server rendered them as before
    page.check("input")
    page.select_option("select", "b")
    update(page, same)  # the server unchecks and unselects: its rendering wins
    assert not page.is_checked("input") and page.input_value("select") == "a"


def test_details_open_is_the_users_unless_the_server_changes_it(page):
    render(page, '<body id="1"><details id="2"><summary id="3">s</summary>x</details></body>')
    page.click("summary")
    update(page, '<body id="1"><details id="2"><summary id="3">s</summary>y</details></body>')
    assert page.evaluate("document.querySelector('details').open")
    update(page, '<body id="1"><details id="2" open><summary id="3">s</summary>y</details></body>')
    assert page.evaluate("document.querySelector('details').open")
    page.click("summary")  # the user closes what the server opened
    update(page, '<body id="1"><details id="2" open><summary id="3">s</summary>z</details></body>')
    assert not page.evaluate("document.querySelector('details').open")
    update(page, '<body id="1"><details id="2"><summary id="3">s</summary>z</details></body>')
    update(page, '<body id="1"><details id="2" open><summary id="3">s</summary>z</details></body>')
    assert page.evaluate("document.querySelector('details').open")  # the server opens it again: it opens


def test_elements_are_paired_by_id_moved_ones_keep_their_state_and_focus(page):
    render(page, '<body id="1"><div id="2"><input id="3" value=""></div><ul id="4"><li id="5">a</li></ul></body>')
    page.fill("input", "kept")
    page.focus("input")
    page.evaluate("document.querySelector('input').setSelectionRange(1, 3)")
    li = page.evaluate_handle("document.getElementById('5')")
    update(
        page,
        '<body id="1"><ul id="4"><li id="6">new</li><li id="5">a</li></ul>'
        '<section id="8"><input id="3" value=""></section></body>',
    )
    assert page.evaluate("document.body.innerHTML") == (
        '<ul id="4"><li id="6">new</li><li id="5">a</li></ul><section id="8"><input id="3" value=""></section>'
    )
    assert page.evaluate("li => li === document.getElementById('5')", li)  # the same element, moved
    assert page.input_value("input") == "kept"
    assert page.evaluate("document.activeElement.id") == "3"
    assert page.evaluate("[document.activeElement.selectionStart, document.activeElement.selectionEnd]") == [1, 3]


def test_an_element_whose_js_runs_again_is_new_its_children_and_state_kept(page):
    render(page, '<body id="1"><div id="2" class="a"><input id="3" value=""></div></body>')
    page.evaluate("document.getElementById('2').addEventListener('click', () => window.hits = (window.hits || 0) + 1)")
    page.fill("input", "kept")
    page.focus("input")
    before = page.evaluate_handle("[document.getElementById('2'), document.getElementById('3')]")
    update(page, '<div id="2" class="b"><input id="3" value=""></div>', fresh=["2"])
    assert page.evaluate("([div, input]) => [div === document.getElementById('2'), input === document.getElementById('3')]",
                         before) == [False, True]  # fmt: skip
    assert page.evaluate("document.getElementById('2').className") == "b"
    assert page.evaluate("document.activeElement.id") == "3"
    page.click("div.b", position={"x": 1, "y": 1})
    assert page.evaluate("window.hits") is None  # the old element's listener went with it
    assert page.input_value("input") == "kept"


def test_an_update_that_is_not_one_element_falls_back_to_outer_html(page):
    render(page, '<body id="1"><span id="2">a</span></body>')
    update(page, '<span id="2">b</span><span id="3">c</span>')
    assert page.evaluate("document.body.innerHTML") == '<span id="2">b</span><span id="3">c</span>'
