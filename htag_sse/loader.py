"""Finding an htag app from what a user types (``main:App``, ``main.py``,
``path/to/file.py:Class``, ``package.module:Class``), importing it, saying
clearly why it cannot load; and reading which apps a file defines (with
``ast``, never importing it)."""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .adapter import AppClass
from .errors import AppLoadError, HtagSSEError
from .htag1 import is_app

#: The prefix of the module names the app list imports files under (never a name a user module has).
PRIVATE_PREFIX = "htag_sse_app_"
#: Frames under these are not the user's: they are left out of :func:`explain`.
_NOT_USERS = (str(Path(__file__).resolve().parent), sysconfig.get_paths()["stdlib"], "<frozen ")


@dataclass(frozen=True)
class Target:
    """Where an app class is: a file (``path``) or an importable module (``module``), and its name."""

    path: Path | None
    module: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.path or self.module}:{self.name}"


def parse_target(spec: str, cwd: Path) -> Target:
    """``main:App`` / ``main.py`` / ``dir/file.py:Class`` / ``pkg.mod:Class`` -> a :class:`Target`."""
    where, _, name = spec.rpartition(":") if ":" in spec else (spec, "", "App")
    name = name or "App"
    if where.endswith(".py") or "/" in where or "\\" in where:
        return Target((cwd / where).resolve(), None, name)
    if (cwd / f"{where}.py").is_file():
        return Target((cwd / f"{where}.py").resolve(), None, name)
    return Target(None, where, name)


def load(target: Target) -> AppClass:
    """Import the target (a file as the module its name says, as Python would) and return its class.

    :class:`AppLoadError` says what is wrong; an error raised by the user's
    code is its ``__cause__`` (see :func:`explain`).
    """
    if target.path is not None:
        if not target.path.is_file():
            raise AppLoadError(f"no such file: {target.path}")
        module = load_file(target.path)
    else:
        assert target.module is not None
        try:
            module = importlib.import_module(target.module)
        except ModuleNotFoundError as e:
            if e.name and target.module.startswith(e.name):
                raise AppLoadError(f"no module named {target.module!r} (and no file {target.module}.py here)") from None
            raise _failed(e, target.module) from e
        except Exception as e:
            raise _failed(e, target.module) from e
    return app_class(module, target.name, str(target.path or target.module))


def load_file(path: Path) -> ModuleType:
    """Import a .py file as the module named after it, its directory first on ``sys.path``
    (so that it imports its neighbours); refused if that name is another module's."""
    name = path.stem
    known = sys.modules.get(name)
    if known is not None:
        if getattr(known, "__file__", None) == str(path):
            return known
        where = getattr(known, "__file__", None) or "built in"
        raise AppLoadError(
            f"{path} cannot be imported as {name!r}: that is the module {where} already: rename the file"
        )
    if name in sys.stdlib_module_names:
        raise AppLoadError(f"{path} cannot be imported as {name!r}: it would hide the standard module: rename the file")
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    return _exec(name, path)


def load_private(path: Path, name: str) -> AppClass:
    """Import a file of the app list under a private module name, without touching ``sys.path``:
    a ``json.py`` there never replaces the standard ``json``. Imported once per process."""
    module_name = PRIVATE_PREFIX + hashlib.sha256(str(path).encode()).hexdigest()[:16]
    module = sys.modules.get(module_name)  # registered so that a rerun finds the class again
    if module is None or getattr(module, "__file__", None) != str(path):
        module = _exec(module_name, path)
    return app_class(module, name, str(path))


def _exec(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:  # a sys.exit() at import must not stop the server either
        del sys.modules[name]
        raise _failed(e, str(path)) from e
    return module


def _failed(error: BaseException, where: str) -> AppLoadError:
    """One line: what failed, where (the user's line), why. htag-sse's own refusal of its
    configuration (a short ``HTAG_SSE_SECRET``, ``HtagSSE(App, secret=...)``) says what is wrong
    with the configuration, not "while importing" the user's file."""
    if isinstance(error, HtagSSEError):
        return AppLoadError(str(error))
    if isinstance(error, SyntaxError):
        return AppLoadError(f"syntax error in {error.filename or where}, line {error.lineno}: {error.msg}")
    frames = _user_frames(error)
    at = f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else where
    return AppLoadError(f"{type(error).__name__} while importing {where} (at {at}): {error}")


def _user_frames(error: BaseException) -> list[traceback.FrameSummary]:
    """The frames of ``error`` in the user's code: not ours, not the standard library's nor an installed package's."""
    return [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if not f.filename.startswith(_NOT_USERS)
        and not {"site-packages", "dist-packages"} & set(Path(f.filename).parts)
    ]


def explain(error: BaseException) -> str:
    """Why an app cannot load, as a short block: the user's frames and the error, no chained tracebacks."""
    cause = error.__cause__ if isinstance(error, AppLoadError) else error
    if cause is None:
        return str(error)
    lines = [*traceback.format_list(_user_frames(cause)), *traceback.format_exception_only(cause)]
    return "".join(lines).rstrip()


def app_class(module: ModuleType, name: str, where: str) -> AppClass:
    obj = getattr(module, name, None)
    if obj is None:
        found = ", ".join(tag_classes_of(module)) or "none"
        raise AppLoadError(f"{where} has no class {name!r} (htag classes there: {found})")
    if not is_app(obj):
        raise AppLoadError(f"{where}:{name} is not an htag Tag class (it is {type(obj).__name__!r})")
    return obj


def tag_classes_of(module: ModuleType) -> list[str]:
    return sorted(k for k, v in vars(module).items() if is_app(v) and v.__module__ == module.__name__)


def apps_in(source: str, path: Path | None = None) -> list[str]:
    """The apps a module's source defines, in order; raises :class:`SyntaxError`. Nothing is executed.

    An app is a top-level class deriving from htag's ``Tag``, whatever the way: ``Tag.div``,
    ``htag.Tag.div``, an alias, another class of the source, or a class of another module — a
    widget kit's (``class App(ui.App)`` with htagui), a neighbour's — found by following the
    imports in their source (``ast``, and the import system's finders: no code runs). A class
    that another class of the source derives from is a helper, not an app, unless it is named
    ``App``. ``path``, the file's, puts its folder first when looking for the modules it imports.
    """
    tree = ast.parse(source)
    search = [str(path.parent)] if path is not None else []
    resolver = _Resolver([*search, *(p for p in sys.path if p)])
    module = _Module("", tree, is_pkg=False)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    found = [node.name for node in classes if resolver.binding(module, ("class", node), 0) == _TAG]
    bases = {base.id for node in classes for base in node.bases if isinstance(base, ast.Name)}
    return [name for name in found if name == "App" or name not in bases]


#: The one anchor: the class ``Tag`` of module ``htag.tag``; a base that leads there is a Tag class.
_ANCHOR = ("htag.tag", "Tag")
_TAG = ("tag",)
#: How many names one base may lead through (imports, aliases, classes) before giving up.
_MAX_DEPTH = 24
Binding = tuple[Any, ...]  # ("module", name) | ("from", module, name) | ("alias", expr) | ("class", node)


class _Module:
    """A module's top-level names, read from its syntax tree (both branches of an ``if``/``try``)."""

    def __init__(self, name: str, tree: ast.Module, *, is_pkg: bool) -> None:
        self.name, self.is_pkg = name, is_pkg
        self.env: dict[str, Binding] = {}
        self.stars: list[str] = []
        self._bind(tree.body)

    def _absolute(self, module: str | None, level: int) -> str | None:
        if not level:
            return module
        package = (self.name if self.is_pkg else self.name.rpartition(".")[0]).split(".") if self.name else []
        if not package or level - 1 >= len(package) + (0 if self.is_pkg else 1):
            return None
        parts = package[: len(package) - (level - 1)]
        return ".".join(parts + ([module] if module else [])) or None

    def _bind(self, body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.env[a.asname or a.name.split(".")[0]] = (
                        "module",
                        a.name if a.asname else a.name.split(".")[0],
                    )
            elif isinstance(node, ast.ImportFrom):
                where = self._absolute(node.module, node.level)
                for a in node.names if where is not None else ():
                    if a.name == "*":
                        self.stars.append(where)  # type: ignore[arg-type]
                    else:
                        self.env[a.asname or a.name] = ("from", where, a.name)
            elif isinstance(node, ast.ClassDef):
                self.env[node.name] = ("class", node)
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                  and isinstance(node.value, (ast.Name, ast.Attribute))):  # fmt: skip
                self.env[node.targets[0].id] = ("alias", node.value)
            elif isinstance(node, (ast.If, ast.Try)):
                self._bind(node.body)
                for handler in getattr(node, "handlers", ()):
                    self._bind(handler.body)
                self._bind(node.orelse)


@functools.lru_cache(maxsize=256)
def _parsed(origin: str, mtime_ns: int, size: int) -> ast.Module | None:
    """A module file's syntax tree (kept while the file is unchanged: the app list rescans often)."""
    try:
        return ast.parse(Path(origin).read_bytes(), origin)
    except (OSError, SyntaxError, ValueError):
        return None


class _Resolver:
    """Where the names of the scanned source lead, module by module, memoised for one scan."""

    def __init__(self, path: list[str]) -> None:
        self.path = path
        self.modules: dict[str, _Module | None] = {}
        self.locations: dict[str, list[str]] = {}  # a package's folders, where its submodules are
        self.memo: dict[tuple[str, str], Binding | None] = {}

    def module(self, name: str) -> _Module | None:
        if name in self.modules:
            return self.modules[name]
        self.modules[name] = None  # while looking (a cycle): unknown
        parent, _, _ = name.rpartition(".")
        where = self.path
        if parent:
            above = self.module(parent)
            if above is None or not above.is_pkg:
                return None
            where = self.locations.get(parent, [])
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, where)  # finds files, runs nothing
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            return None
        is_pkg = spec.submodule_search_locations is not None
        tree: ast.Module | None = ast.Module(body=[], type_ignores=[])  # a namespace package: no source
        if spec.origin and spec.origin.endswith(".py"):
            try:
                stat = os.stat(spec.origin)
            except OSError:
                return None
            tree = _parsed(spec.origin, stat.st_mtime_ns, stat.st_size)
        elif not is_pkg:
            return None  # an extension module, a frozen one: not a Tag class's home
        if tree is None:
            return None
        if is_pkg:
            self.locations[name] = list(spec.submodule_search_locations or [])
        self.modules[name] = found = _Module(name, tree, is_pkg=is_pkg)
        return found

    def name_in(self, module: str, name: str, depth: int) -> Binding | None:
        """What ``module.name`` is: :data:`_TAG`, ``("class",)``, ``("module", name)``, or None (unknown)."""
        if (module, name) == _ANCHOR:
            return _TAG
        if depth > _MAX_DEPTH:
            return None
        key = (module, name)
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = None
        found: Binding | None = None
        m = self.module(module)
        if m is not None:
            bound = m.env.get(name)
            if bound is not None:
                found = self.binding(m, bound, depth + 1)
            elif m.is_pkg and self.module(f"{module}.{name}") is not None:
                found = ("module", f"{module}.{name}")
            else:
                found = next(filter(None, (self.name_in(star, name, depth + 1) for star in m.stars)), None)
        self.memo[key] = found
        return found

    def binding(self, m: _Module, bound: Binding, depth: int) -> Binding | None:
        kind = bound[0]
        if kind == "module":
            return ("module", bound[1])
        if kind == "from":
            return self.name_in(bound[1], bound[2], depth)
        if kind == "alias":
            return self.expr(m, bound[1], depth)
        node: ast.ClassDef = bound[1]
        return _TAG if any(self.expr(m, base, depth + 1) == _TAG for base in node.bases) else ("class",)

    def expr(self, m: _Module, e: ast.expr, depth: int) -> Binding | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(e, ast.Name):
            bound = m.env.get(e.id)
            if bound is not None:
                return self.binding(m, bound, depth)
            return next(filter(None, (self.name_in(star, e.id, depth + 1) for star in m.stars)), None)
        if isinstance(e, ast.Attribute):
            head = self.expr(m, e.value, depth + 1)
            if head == _TAG:  # Tag.div, App.span: htag's TagCreator makes a Tag class of any name
                return _TAG
            if head is not None and head[0] == "module":
                return self.name_in(head[1], e.attr, depth + 1)
        return None
