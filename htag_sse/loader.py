"""Finding an htag app from what a user types: ``main:App``, ``main.py``,
``path/to/file.py:Class``, ``package.module:Class``; and listing the files of
a directory that define htag Tag classes (read with ``ast``, never imported)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from htag import Tag

from .errors import AppLoadError

#: Directories never listed by the explorer.
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", ".venv", "env", "build", "dist"})


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


def load(target: Target) -> type[Tag]:
    """Import the target and return its class; :class:`AppLoadError` says clearly what is wrong."""
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
            raise
    obj = getattr(module, target.name, None)
    if obj is None:
        found = ", ".join(tag_classes_of(module)) or "none"
        raise AppLoadError(f"{target.path or target.module} has no class {target.name!r} (htag classes there: {found})")
    if not (isinstance(obj, type) and issubclass(obj, Tag)):
        raise AppLoadError(f"{target} is not an htag Tag class (it is {type(obj).__name__!r})")
    return obj


def load_file(path: Path) -> object:
    """Import a .py file as a module named after it, its directory first on ``sys.path``."""
    name = path.stem
    known = sys.modules.get(name)
    if known is not None and getattr(known, "__file__", None) == str(path):
        return known
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so its classes can be found again (reruns)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        del sys.modules[name]
        raise AppLoadError(f"syntax error in {path}, line {e.lineno}: {e.msg}") from e
    except Exception:
        del sys.modules[name]
        raise
    return module


def tag_classes_of(module: object) -> list[str]:
    return sorted(k for k, v in vars(module).items() if isinstance(v, type) and issubclass(v, Tag) and v.__module__ == getattr(module, "__name__", None))


def tag_classes_in(source: str) -> list[str]:
    """Classes of a module's source that derive from htag's ``Tag`` (``Tag``, ``Tag.div``...),
    directly or through another class of the same source. Nothing is executed."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    found: list[str] = []
    for node in classes:
        for base in node.bases:
            root = base
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and (root.id == "Tag" or root.id in found):
                found.append(node.name)
                break
    return found


def scan(root: Path, limit: int = 500) -> list[tuple[str, list[str]]]:
    """(relative path, htag classes) for each .py file under ``root`` that has some."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part.startswith(".") or part in SKIPPED_DIRS for part in rel.parts[:-1]):
            continue
        try:
            classes = tag_classes_in(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if classes:
            found.append((rel.as_posix(), classes))
            if len(found) >= limit:
                break
    return found
