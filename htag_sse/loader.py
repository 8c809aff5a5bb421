"""Finding an htag app from what a user types (``main:App``, ``main.py``,
``path/to/file.py:Class``, ``package.module:Class``), importing it, saying
clearly why it cannot load; and reading which apps a file defines (with
``ast``, never importing it)."""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import sys
import sysconfig
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

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


def apps_in(source: str) -> list[str]:
    """The apps a module's source defines, in order; raises :class:`SyntaxError`. Nothing is executed.

    An app is a top-level class deriving from htag's ``Tag`` (``Tag.div``,
    ``htag.Tag.div``, an alias of ``Tag``), directly or through other classes
    of the same source; a class that another class of the source derives from
    is a helper, not an app, unless it is named ``App``.
    """
    tree = ast.parse(source)
    tags, modules = {"Tag"}, {"htag"}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "htag":
            tags.update(a.asname or a.name for a in node.names if a.name == "Tag")
        elif isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name == "htag")
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    found: list[str] = []
    for node in classes:
        if any(_is_tag(base, tags, modules, found) for base in node.bases):
            found.append(node.name)
    bases = {base.id for node in classes for base in node.bases if isinstance(base, ast.Name)}
    return [name for name in found if name == "App" or name not in bases]


def _is_tag(base: ast.expr, tags: set[str], modules: set[str], found: list[str]) -> bool:
    chain: list[str] = []
    while isinstance(base, ast.Attribute):
        chain.insert(0, base.attr)
        base = base.value
    if not isinstance(base, ast.Name):
        return False
    if base.id in modules:  # htag.Tag.div
        return chain[:1] == ["Tag"]
    return base.id in tags or (not chain and base.id in found)
