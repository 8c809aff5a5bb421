"""Finding, reading and importing apps (htag_sse.loader), and the one skip list that the app
list and the --reload watcher share (htag_sse.explorer.walk, htag_sse.cli.watch)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from htag_sse.errors import AppLoadError
from htag_sse.explorer import app_file, walk
from htag_sse.loader import PRIVATE_PREFIX, apps_in, explain, load, load_private, parse_target
from htag_sse.server.reload import watch

APP = "from htag import Tag\n\nclass App(Tag.div):\n    pass\n"


@pytest.fixture
def clean_imports(monkeypatch):
    """sys.path as it was, and none of the test's modules, after the test."""
    monkeypatch.setattr(sys, "path", sys.path[:])
    yield
    for name in [n for n in sys.modules if n.startswith(("loader_case", PRIVATE_PREFIX))]:
        del sys.modules[name]


@pytest.mark.parametrize("source, apps", [
    (APP, ["App"]),
    ("from htag import Tag\nclass Base(Tag.div): pass\nclass Page(Base): pass\nclass Other(Page): pass\n", ["Other"]),
    ("from htag import Tag\nclass App(Tag.div): pass\nclass Special(App): pass\n", ["App", "Special"]),
    ("from htag import Tag as T\nclass A(T.div): pass\nclass B(T): pass\n", ["A", "B"]),
    ("import htag\nclass A(htag.Tag.div): pass\n", ["A"]),
    ("import htag as h\nclass A(h.Tag.span): pass\nclass B(h.other): pass\n", ["A"]),
    ("class NotTag(object): pass\nclass Tagless(dict): pass\n", []),
    ("from htag import Tag\ndef f():\n    class Inner(Tag.div): pass\n", []),
])  # fmt: skip
def test_apps_in_lists_top_level_tag_classes_but_not_their_helpers(source, apps):
    assert apps_in(source) == apps


@pytest.mark.parametrize("source, apps", [
    ("import htagui.basics as ui\nclass App(ui.App): pass\n", ["App"]),
    ("import htagui.shoelace as ui\nclass App(ui.App):\n    pass\nclass Pane(ui.Tabs): pass\n", ["App", "Pane"]),
    ("from htagui.basics import App as Base\nclass Page(Base): pass\n", ["Page"]),
    ("import htagui\nclass A(htagui.basics.Form): pass\n", ["A"]),
    ("import htbulma as b\nclass Box(b.Box): pass\nclass Plain(b.LocalStorage): pass\n", ["Box"]),
    ("from htbulma import TagBulma\nclass Page(TagBulma.div): pass\n", ["Page"]),
    ("from htag import *\nclass App(Tag.div): pass\n", ["App"]),
    ("import json\nclass J(json.JSONDecoder): pass\nclass N(nowhere.Thing): pass\n", []),
])  # fmt: skip
def test_apps_in_follows_imports_to_widget_kits_classes_without_importing_them(source, apps):
    """``class App(ui.App)`` with htagui: the app list showed none of the htagui apps."""
    assert apps_in(source) == apps


def test_apps_in_follows_a_neighbours_classes_and_never_runs_them(tmp_path, clean_imports):
    trap = "import pathlib\npathlib.Path(__file__).with_suffix('.ran').touch()\n"
    (tmp_path / "widgets.py").write_text(trap + "from htag import Tag\nclass Card(Tag.div): pass\nclass Plain: pass\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(trap + "from .deep import Panel\n")
    (tmp_path / "pkg" / "deep.py").write_text(trap + "import widgets\nclass Panel(widgets.Card): pass\n")
    (tmp_path / "a.py").write_text("from b import B\nclass A(B): pass\n")  # a cycle: unknown, not a hang
    (tmp_path / "b.py").write_text("from a import A\nclass B(A): pass\n")
    main = tmp_path / "main.py"
    source = ("from widgets import Card, Plain\nimport pkg\nfrom a import A\n"
              "class App(Card): pass\nclass Other(pkg.Panel): pass\nclass Not(Plain): pass\nclass Loop(A): pass\n")
    assert apps_in(source, main) == ["App", "Other"]
    assert list(tmp_path.rglob("*.ran")) == [] and "widgets" not in sys.modules


def test_apps_in_raises_on_a_syntax_error():
    with pytest.raises(SyntaxError):
        apps_in("class App(Tag.div:\n")


def test_parse_target(tmp_path):
    (tmp_path / "main.py").write_text(APP)
    assert parse_target("main:App", tmp_path).path == tmp_path / "main.py"
    assert parse_target("main.py", tmp_path).name == "App"
    assert parse_target("sub/x.py:Board", tmp_path).path == tmp_path / "sub" / "x.py"
    target = parse_target("pkg.mod:Thing", tmp_path)
    assert (target.path, target.module, target.name) == (None, "pkg.mod", "Thing")


def test_a_named_file_is_imported_under_its_own_name_with_its_folder_on_sys_path(tmp_path, clean_imports):
    (tmp_path / "loader_case_app.py").write_text("from loader_case_helper import TITLE\n" + APP)
    (tmp_path / "loader_case_helper.py").write_text("TITLE = 'x'\n")
    cls = load(parse_target("loader_case_app.py", tmp_path))
    assert cls.__module__ == "loader_case_app" and sys.modules["loader_case_app"].TITLE == "x"
    assert load(parse_target("loader_case_app:App", tmp_path)) is cls  # imported once


@pytest.mark.parametrize("stem, message", [
    ("json", "cannot be imported as 'json': that is the module "),
    ("antigravity", "cannot be imported as 'antigravity': it would hide the standard module: rename the file"),
])  # fmt: skip
def test_a_named_file_that_would_shadow_a_module_is_refused(tmp_path, clean_imports, stem, message):
    (tmp_path / f"{stem}.py").write_text("raise SystemExit('must not run')\n" + APP)
    with pytest.raises(AppLoadError, match=message):
        load(parse_target(f"{stem}.py", tmp_path))
    assert sys.modules["json"] is json
    assert getattr(sys.modules.get(stem), "__file__", None) != str(tmp_path / f"{stem}.py")


def test_an_error_at_import_is_one_line_and_a_short_block(tmp_path, clean_imports):
    (tmp_path / "loader_case_raises.py").write_text("from htag import Tag\n\nX = undefined_name\n")
    with pytest.raises(AppLoadError) as caught:
        load(parse_target("loader_case_raises.py", tmp_path))
    path = tmp_path / "loader_case_raises.py"
    assert str(caught.value) == (f"NameError while importing {path} (at {path}, line 3): "
                                 "name 'undefined_name' is not defined")  # fmt: skip
    block = explain(caught.value)
    assert block.splitlines()[0] == f'  File "{path}", line 3, in <module>'
    assert block.splitlines()[-1] == "NameError: name 'undefined_name' is not defined"
    assert "htag_sse" not in block and "importlib" not in block and "Traceback" not in block


def test_an_error_in_a_named_module_is_one_line_too(tmp_path, clean_imports):
    (tmp_path / "loader_case_pkg").mkdir()
    (tmp_path / "loader_case_pkg" / "__init__.py").write_text("")
    (tmp_path / "loader_case_pkg" / "mod.py").write_text("import loader_case_missing\n")
    sys.path.insert(0, str(tmp_path))
    with pytest.raises(AppLoadError, match=r"^ModuleNotFoundError while importing loader_case_pkg.mod \(at .*mod.py, "
                                           r"line 1\): No module named 'loader_case_missing'$"):  # fmt: skip
        load(parse_target("loader_case_pkg.mod:App", tmp_path))
    with pytest.raises(AppLoadError, match=r"^no module named 'loader_case_pkg.nope' \(and no file"):
        load(parse_target("loader_case_pkg.nope:App", tmp_path))


def test_a_syntax_error_is_one_line_and_a_short_block(tmp_path, clean_imports):
    path = tmp_path / "loader_case_broken.py"
    path.write_text("from htag import Tag\nclass App(Tag.div:\n    pass\n")
    with pytest.raises(AppLoadError, match=f"syntax error in {path}, line 2: "):
        load(parse_target(str(path), tmp_path))
    assert "loader_case_broken" not in sys.modules
    try:
        load(parse_target(str(path), tmp_path))
    except AppLoadError as e:
        lines = explain(e).splitlines()
    assert lines[0] == f'  File "{path}", line 2' and lines[-1].startswith("SyntaxError: ")


def test_a_listed_file_is_imported_under_a_private_name_without_touching_sys_path(tmp_path, clean_imports):
    (tmp_path / "json.py").write_text(APP)
    path = sys.path[:]
    cls = load_private(tmp_path / "json.py", "App")
    assert cls.__module__.startswith(PRIVATE_PREFIX) and sys.modules[cls.__module__].App is cls
    assert sys.modules["json"] is json and sys.path == path
    assert load_private(tmp_path / "json.py", "App") is cls  # once per process
    with pytest.raises(AppLoadError, match="has no class 'Nope'"):
        load_private(tmp_path / "json.py", "Nope")


# -- the skip list: one for the app list and the watcher

SKIPPED = [".hidden/a.py", ".venv/lib/b.py", "myenv/c.py", "node_modules/d.py", "site-packages/e.py", "build/f.py",
           "dist/g.py", "__pycache__/h.py", "venv/i.py", "env/j.py", ".k.py", "linked/l.py", "m.py.txt"]  # fmt: skip
COUNTED = ["main.py", "sub/deep/n.py", "sub/o.py"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for rel in [*SKIPPED, *COUNTED]:
        if not rel.startswith("linked/"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(APP)
    (root / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")  # a virtualenv, whatever its name
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "l.py").write_text(APP)
    os.symlink(tmp_path / "elsewhere", root / "linked")
    return root


def test_walk_and_app_file_skip_the_same_files(tree):
    assert sorted(p.relative_to(tree).as_posix() for p in walk(tree)) == sorted(COUNTED)
    for rel in COUNTED:
        assert app_file(tree, rel) == tree / rel
    for rel in [*SKIPPED, "../tree/main.py", "sub/../main.py", "/etc/passwd", "sub", "", "sub//o.py"]:
        assert app_file(tree, rel) is None, rel


@pytest.mark.parametrize("poll", [True, False], ids=["polling", "watchfiles"])
def test_the_watcher_reports_the_files_that_count_only(tree, poll):
    stopping = threading.Event()
    changes = watch(tree, stopping, poll=poll)
    next(changes)  # watching from now on
    for rel in SKIPPED:
        if not rel.startswith("linked/"):
            (tree / rel).write_text(APP + "# edited\n")
    (tree / "sub" / "new.py").write_text(APP)
    (tree / "main.py").write_text(APP + "# edited\n")
    seen: set[str] = set()
    deadline = time.monotonic() + 15
    while not {"main.py", "sub/new.py"} <= seen:
        assert time.monotonic() < deadline, f"no change seen in time (seen: {seen})"
        seen.update(next(changes))
    assert seen == {"main.py", "sub/new.py"}
    (tree / "sub" / "new.py").unlink()
    while "sub/new.py" not in (batch := next(changes)):
        assert time.monotonic() < deadline + 15 and not batch, batch
    stopping.set()
    assert list(changes) in ([], [[]])  # it stops
