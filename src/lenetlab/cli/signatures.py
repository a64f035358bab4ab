"""The keyword arguments a config node's ``_target_`` takes, read from the source code.

A command checks its whole config before torch and Lightning are imported (they take seconds
to load on a small machine), so the signatures cannot come from the classes themselves: the
module's file is found on ``sys.path`` and parsed with ``ast``; a name it imports
(``from lightning.pytorch.trainer import Trainer``) is followed to where it is defined, and a
class without an ``__init__`` of its own takes its first base's. tests/cli/test_signatures.py
holds every shipped ``_target_`` to ``inspect.signature``.
"""

import ast
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Signature:
    names: tuple[str, ...]  # the keyword arguments, in order
    required: tuple[str, ...]  # those without a default
    any_keyword: bool  # it has **kwargs kept or handed to what cannot be read
    defined: bool = True  # False: no __init__ anywhere up its bases (object's)


NONE = Signature((), (), any_keyword=False, defined=False)


def signature(target: str) -> Signature | None:
    """The signature of ``target`` ("package.module.Class"), or None where the source does not
    say (a compiled module, a name made at run time)."""
    module, _, name = target.rpartition(".")
    return _lookup(module, name, depth=0) if module else None


def module_file(module: str) -> Path | None:
    """The file of ``module``, found without importing it (only its top-level package's
    location is looked up)."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    for location in spec.submodule_search_locations or []:
        base = Path(location, *rest)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


@functools.cache
def _tree(module: str) -> ast.Module | None:
    path = module_file(module)
    if path is None:
        return None
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _statements(body: list[ast.stmt]):
    """Top-level statements, including those under ``if`` and ``try`` (guarded imports)."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _statements(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            yield from _statements(node.body + node.orelse + node.finalbody)


@functools.cache
def _lookup(module: str, name: str, depth: int) -> Signature | None:
    tree = _tree(module)
    if tree is None or depth > 20:
        return None
    is_package = module_file(module).name == "__init__.py"
    for node in _statements(tree.body):
        if isinstance(node, ast.ClassDef) and node.name == name:
            return _class_signature(module, node, depth)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return _function_signature(module, node, None, depth)
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = _absolute(module, node, is_package)
                    found = _lookup(source, alias.name, depth + 1)
                    if found is None:  # ``from package import submodule``? not a callable
                        continue
                    return found
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ):
            return _lookup(module, node.value.id, depth + 1)
    return None


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    keep = len(parts) - node.level + (1 if is_package else 0)
    base = parts[:keep]
    return ".".join(base + ([node.module] if node.module else []))


# Bases that take no arguments, wherever they come from (``abc`` is a frozen module: no source).
NO_ARGUMENTS = {"object", "ABC", "Generic", "Protocol"}


def _class_signature(module: str, node: ast.ClassDef, depth: int) -> Signature | None:
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            return _function_signature(module, item, node, depth)
    return _base_signature(module, node, depth)


def _base_signature(module: str, node: ast.ClassDef, depth: int) -> Signature | None:
    """The ``__init__`` a class without one of its own runs: that of the first base (in order,
    as the method resolution order finds it for mixins) that has one."""
    for base in node.bases:
        if isinstance(base, ast.Subscript):  # Generic[T]
            base = base.value
        name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", None)
        if name in NO_ARGUMENTS:
            continue
        found = _base_class_signature(module, base, depth)
        if found is None:
            return None
        if found.defined:
            return found
    return NONE


def _base_class_signature(module: str, base: ast.expr, depth: int) -> Signature | None:
    if isinstance(base, ast.Name):
        return _lookup(module, base.id, depth + 1)
    if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
        # ``nn.Module``-style: the attribute of an imported module
        for stmt in _statements(_tree(module).body):
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                for alias in stmt.names:
                    if (alias.asname or alias.name) == base.value.id:
                        prefix = (stmt.module + ".") if isinstance(stmt, ast.ImportFrom) else ""
                        return _lookup(prefix + alias.name, base.attr, depth + 1)
    return None


def _function_signature(
    module: str, node: ast.FunctionDef, owner: ast.ClassDef | None, depth: int
) -> Signature:
    """``owner``: the class of an ``__init__`` (its ``self`` is left out)."""
    args = node.args
    positional = args.posonlyargs + args.args
    if owner is not None:
        positional = positional[1:]
    first_default = len(positional) - len(args.defaults)
    required = [a.arg for i, a in enumerate(positional) if i < first_default]
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    names = [a.arg for a in positional + args.kwonlyargs]
    if args.kwarg is None:
        return Signature(tuple(names), tuple(required), any_keyword=False)
    handed_on = [
        _callee(module, call.func, owner, depth) for call in _calls_with(node, args.kwarg.arg)
    ]
    if not handed_on or None in handed_on:  # kept, or handed to what cannot be read: any key
        return Signature(tuple(names), tuple(required), any_keyword=True)
    for callee in handed_on:
        names += [n for n in callee.names if n not in names]
    return Signature(tuple(names), tuple(required), any(c.any_keyword for c in handed_on))


def _calls_with(node: ast.FunctionDef, kwargs: str) -> list[ast.Call]:
    """The calls in ``node`` that hand on ``**kwargs`` whole."""
    return [
        call
        for call in ast.walk(node)
        if isinstance(call, ast.Call)
        and any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == kwargs
                for k in call.keywords)
    ]  # fmt: skip


def _callee(module: str, func: ast.expr, owner: ast.ClassDef | None, depth: int):
    """The signature of what a call calls: a name of the module, or ``super().__init__``."""
    if isinstance(func, ast.Name):
        return _lookup(module, func.id, depth + 1)
    is_super = (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and getattr(func.value.func, "id", None) == "super"
    )
    if is_super and owner is not None:
        return _base_signature(module, owner, depth + 1)
    return None
