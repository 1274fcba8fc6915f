"""What runs when a submission is graded: definitions from the answer cells, never their top-level code.

A student's answer cell is parsed (with :mod:`ast`, not regular expressions) and only the
statements that *define* something are kept:

* ``import`` / ``from ... import`` statements;
* ``def`` statements, without decorators, whose default values and annotations are simple
  expressions (literals, names, attribute chains such as ``np.inf``; no calls);
* ``class`` statements without base classes (a base's ``__init_subclass__`` or metaclass would
  run code), whose body holds only such definitions and no class-level hooks
  (``__class_getitem__`` ...);
* assignments of simple expressions to names (constants such as ``EPS = 1e-12``).

Everything else — calls at the top level, loops, ``with`` blocks, decorators, default values
that call something — is dropped and reported, so that nothing a student writes runs before the
tests except imports. Function bodies still run when the tests call them.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

__all__ = ["CleanSource", "clean_answer", "is_simple_expression"]

# Expression nodes whose evaluation cannot run code a student wrote at the top level.
_SIMPLE_NODES = (
    ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.UnaryOp, ast.BinOp, ast.Tuple, ast.List,
    ast.Set, ast.Dict, ast.operator, ast.unaryop, ast.Subscript, ast.Slice,
)


def is_simple_expression(node: ast.AST | None) -> bool:
    """True for literals, names, attribute chains and arithmetic on them (no calls, no lambdas)."""
    if node is None:
        return True
    return all(isinstance(child, _SIMPLE_NODES) for child in ast.walk(node))


@dataclass
class CleanSource:
    """The kept definitions of one answer cell, and what was dropped (one line each)."""

    source: str
    dropped: list[str] = field(default_factory=list)


def _describe(node: ast.stmt, source: str) -> str:
    text = ast.get_source_segment(source, node) or type(node).__name__
    first = text.strip().splitlines()[0] if text.strip() else type(node).__name__
    return f"line {node.lineno}: {first[:80]}"


def _clean_function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """Strip decorators; return a reason to drop the function, or None to keep it."""
    if node.decorator_list:
        return "decorators run code when the function is defined"
    args = node.args
    for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
        if not is_simple_expression(default):
            return "a default value that calls something runs code when the function is defined"
    annotations = [a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a.annotation]
    annotations += [a.annotation for a in (args.vararg, args.kwarg) if a is not None and a.annotation]
    if node.returns is not None:
        annotations.append(node.returns)
    if not all(is_simple_expression(a) for a in annotations):
        return "an annotation that calls something runs code when the function is defined"
    return None


# Class-level hooks that simple expressions elsewhere could trigger (``A[0]`` calls
# ``A.__class_getitem__``) or that run when a class is created.
_CLASS_HOOKS = frozenset({"__class_getitem__", "__init_subclass__", "__set_name__", "__mro_entries__",
                          "__prepare__", "__new__"})


def _clean_class(node: ast.ClassDef) -> str | None:
    if node.decorator_list or node.keywords:
        return "class decorators and metaclasses run code when the class is defined"
    if node.bases:
        # A base class's __init_subclass__ or metaclass (enum.Enum calls the class's own __new__)
        # runs code when the class is defined; so does a base that is not a class (__mro_entries__).
        return "a class with base classes runs code when it is defined; only plain classes are kept"
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if item.name in _CLASS_HOOKS:
                return f"method {item.name} would run code when the class is used at the top level"
            reason = _clean_function(item)
            if reason:
                return f"method {item.name}: {reason}"
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            if names & _CLASS_HOOKS:
                return f"attribute {sorted(names & _CLASS_HOOKS)[0]} would run code when the class is used"
            if not is_simple_expression(item.value) or (isinstance(item, ast.AnnAssign)
                                                        and not is_simple_expression(item.annotation)):
                return "class attributes must be simple values"
        elif isinstance(item, ast.Pass) or (isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant)):
            continue
        else:
            return "a class body may only hold methods and simple values"
    return None


def _simple_targets(targets: list[ast.expr]) -> bool:
    return all(isinstance(t, ast.Name) or (isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) for e in t.elts))
               for t in targets)


def clean_answer(source: str) -> CleanSource:
    """Keep only the definitions of an answer cell (see the module docstring).

    A cell that does not parse is returned unchanged, so the grader reports the same
    ``SyntaxError`` the student sees in their notebook.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return CleanSource(source)
    kept: list[ast.stmt] = []
    dropped: list[str] = []
    for node in tree.body:
        reason: str | None = None
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            pass
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            reason = _clean_function(node)
        elif isinstance(node, ast.ClassDef):
            reason = _clean_class(node)
        elif isinstance(node, ast.Assign):
            if not (_simple_targets(node.targets) and is_simple_expression(node.value)):
                reason = "only constants (no calls) may be assigned at the top level"
        elif isinstance(node, ast.AnnAssign):
            if not (isinstance(node.target, ast.Name) and is_simple_expression(node.value)
                    and is_simple_expression(node.annotation)):
                reason = "only constants (no calls) may be assigned at the top level"
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring or a bare constant: nothing to run, nothing to report
        elif isinstance(node, ast.Pass):
            continue
        else:
            reason = "top-level statements other than definitions do not run when grading"
        if reason:
            dropped.append(f"{_describe(node, source)} ({reason})")
        else:
            kept.append(node)
    return CleanSource(_keep_lines(source, tree.body, kept), dropped)


def _keep_lines(source: str, body: list[ast.stmt], kept: list[ast.stmt]) -> str:
    """The source with every dropped statement's lines blanked, so line numbers stay the student's.

    When a dropped statement shares a line with a kept one (``x = 1; run()``), the kept
    statements are regenerated from the syntax tree instead.
    """
    lines = source.splitlines()
    kept_ids = {id(node) for node in kept}
    kept_lines: set[int] = set()
    dropped_lines: set[int] = set()
    for node in body:
        start = min([node.lineno, *[d.lineno for d in getattr(node, "decorator_list", [])]])
        span = set(range(start, (node.end_lineno or node.lineno) + 1))
        (kept_lines if id(node) in kept_ids else dropped_lines).update(span)
    if kept_lines & dropped_lines:
        return ast.unparse(ast.Module(body=kept, type_ignores=[])) + "\n"
    out = ["" if number in dropped_lines else line for number, line in enumerate(lines, start=1)]
    return "\n".join(out) + "\n"
