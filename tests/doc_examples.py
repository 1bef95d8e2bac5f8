"""Torch's own docstring examples, run statement by statement against torch and ember.

``collect()`` extracts the ``>>>`` blocks of the docstrings of torch.* functions, Tensor
methods, torch.nn.functional, torch.nn modules, torch.linalg, torch.special and torch.fft;
``run(lib, example)`` executes one example's statements in a fresh namespace (``torch``,
``nn``, ``F`` bound to ``lib``) after ``manual_seed(0)`` and returns each statement's
outcome: the printed output plus the repr of an expression's value, or the exception class.
"""
import ast
import builtins
import contextlib
import io
import math
import re
import tempfile
import warnings

import numpy as np

_HEX = re.compile(r"0x[0-9a-fA-F]+")


def _parses(src):
    try:
        ast.parse(src)
    except SyntaxError:
        return False
    return True


def _blocks(doc):
    """The ``>>>`` statements of a docstring.

    A statement is a ``>>>`` line with its ``...`` continuation lines; one that does not
    parse alone absorbs the lines that follow (some docstrings continue a bracket on further
    ``>>>`` lines or on unprompted lines). Comment-only statements are dropped.
    """
    lines = []
    for raw in doc.splitlines():
        line = raw.strip()
        if line.startswith(">>>"):
            lines.append((">>>", raw.lstrip()[4:] if line.startswith(">>> ") else ""))
        elif line.startswith("... ") or line == "...":
            lines.append(("...", raw.lstrip()[4:]))
        else:
            lines.append(("", line))
    stmts, i = [], 0
    while i < len(lines):
        kind, text = lines[i]
        i += 1
        if kind != ">>>":
            continue
        cur = [text]
        while i < len(lines) and lines[i][0] == "...":
            cur.append(lines[i][1])
            i += 1
        src = "\n".join(cur)
        if not _parses(src):
            for j in range(i, min(i + 30, len(lines))):
                if lines[j][0] == "" and not lines[j][1]:
                    break
                cand = src + "\n" + "\n".join(t for _, t in lines[i:j + 1])
                if _parses(cand):
                    src, i = cand, j + 1
                    break
        if ast.parse(src).body if _parses(src) else src.strip():
            stmts.append(src)
    return stmts


def _sources(torch):
    import torch.nn.functional as F
    import torch.nn.modules as M
    seen = set()
    out = []

    def add(name, obj):
        doc = getattr(obj, "__doc__", None)
        if not isinstance(doc, str) or ">>>" not in doc or id(doc) in seen:
            return
        seen.add(id(doc))
        out.append((name, doc))

    for ns, prefix in ((torch, "torch."), (F, "F."), (torch.linalg, "linalg."),
                       (torch.special, "special."), (torch.fft, "fft.")):
        for n in sorted(dir(ns)):
            if n.startswith("_"):
                continue
            obj = getattr(ns, n, None)
            if callable(obj) and not isinstance(obj, type):
                add(prefix + n, obj)
    for n in sorted(dir(torch.Tensor)):
        if not n.startswith("_"):
            add("Tensor." + n, getattr(torch.Tensor, n, None))
    for n in sorted(dir(M)):
        obj = getattr(M, n)
        if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
            add("nn." + n, obj)
    return out


def collect():
    """[(name, [statement source, ...])] for every docstring with a ``>>>`` example."""
    import torch
    out = []
    for name, doc in _sources(torch):
        stmts = _blocks(doc)
        if stmts:
            out.append((name, stmts))
    return out


def _import_as(lib):
    """``__import__`` under which ``import torch`` / ``from torch.x import y`` give ``lib``."""
    root = lib.__name__

    def _import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and (name == "torch" or name.startswith("torch.")):
            name = root + name[5:]
        return builtins.__import__(name, globals, locals, fromlist, level)
    return _import


def _namespace(lib):
    return {"torch": lib, "nn": lib.nn, "F": lib.nn.functional, "np": np, "numpy": np,
            "math": math, "__builtins__": {**vars(builtins), "__import__": _import_as(lib)}}


def _reset(lib):
    """Undo the global settings that some examples change."""
    lib.set_default_dtype(lib.float32)
    lib.use_deterministic_algorithms(False)
    lib.set_flush_denormal(False)
    lib.set_printoptions(profile="default")
    lib.set_grad_enabled(True)
    lib.set_default_device(None)


def run(lib, stmts):
    """Each statement's outcome: ('ok', printed text + repr) or ('raise', exception class name)."""
    _reset(lib)
    lib.manual_seed(0)
    ns = _namespace(lib)
    outcomes = []
    # in a scratch directory: some examples write files (torch.save's)
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        try:
            _run_statements(stmts, ns, outcomes)
        finally:
            _reset(lib)
    return outcomes


def _run_statements(stmts, ns, outcomes):
    for src in stmts:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            outcomes.append(("raise", "SyntaxError"))
            continue
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
                    val = eval(compile(ast.Expression(tree.body[0].value), "<doc>", "eval"), ns)
                    text = buf.getvalue() + (repr(val) if val is not None else "")
                else:
                    exec(compile(tree, "<doc>", "exec"), ns)
                    text = buf.getvalue()
            outcomes.append(("ok", _HEX.sub("0x?", text)))
        except Exception as e:  # noqa: BLE001 - the class is the outcome
            outcomes.append(("raise", type(e).__name__))


_UNRUNNABLE = {"SyntaxError", "NameError"}


def runnable(torch_outcomes):
    """An example runs in torch itself: no statement meets an undefined name or bad syntax."""
    return not any(kind == "raise" and what in _UNRUNNABLE for kind, what in torch_outcomes)
