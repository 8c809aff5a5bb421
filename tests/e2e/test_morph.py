"""static/morph.js, the DOM morph applied when the server sends a whole new body."""

import pytest

from harness.processes import ROOT

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser_page):
    browser_page.set_content("<!DOCTYPE html><html><head></head><body></body></html>")
    browser_page.add_script_tag(path=str(ROOT / "static" / "morph.js"))
    return browser_page


def morph_body(page, html):
    page.evaluate("html => htagMorph.morphBody(html)", html)


def test_text_typed_in_inputs_and_textareas_survives_with_focus(page):
    page.evaluate("""() => { document.body.outerHTML =
        '<body id="1"><input class="a" value=""><textarea class="b">x</textarea><input type="checkbox" class="c"></body>' }""")
    page.fill("input.a", "typed")
    page.fill("textarea.b", "notes")
    page.check("input.c")
    page.focus("textarea.b")
    morph_body(page, '<body id="9"><input class="a" id="7" value=""><textarea class="b" id="8">x</textarea>'
                     '<input type="checkbox" class="c"></body>')
    assert page.input_value("input.a") == "typed" and page.input_value("textarea.b") == "notes"
    assert page.is_checked("input.c")
    assert page.evaluate("document.activeElement.className") == "b"
    assert page.evaluate("document.body.id") == "9" and page.evaluate("document.querySelector('input.a').id") == "7"


def test_an_untouched_input_takes_the_new_value(page):
    page.evaluate("""() => { document.body.outerHTML = '<body><input class="a" value="old"></body>' }""")
    morph_body(page, '<body><input class="a" value="new"></body>')
    assert page.input_value("input.a") == "new"


def test_text_attributes_and_children_are_brought_up_to_date(page):
    page.evaluate("""() => { document.body.outerHTML =
        '<body><p class="x" title="t">one</p><ul><li>1</li><li>2</li><li>3</li></ul><span>gone</span></body>' }""")
    kept = page.evaluate_handle("document.querySelector('p')")
    morph_body(page, '<body><p class="y">two</p><ul><li>1</li><li>two</li></ul><div>new</div><b>added</b></body>')
    assert page.evaluate("document.body.innerHTML") == '<p class="y">two</p><ul><li>1</li><li>two</li></ul><div>new</div><b>added</b>'
    assert page.evaluate("p => p === document.querySelector('p')", kept)  # the same element, updated


def test_the_scroll_position_survives(page):
    tall = "".join(f"<p style='height:100px'>{i}</p>" for i in range(100))
    page.evaluate("html => { document.body.outerHTML = html }", f"<body>{tall}</body>")
    page.evaluate("window.scrollTo(0, 2500)")
    morph_body(page, f"<body>{tall.replace('>5<', '>five<')}</body>")
    assert page.evaluate("window.scrollY") == 2500
