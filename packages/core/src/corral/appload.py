"""Finding the WSGI application: ``MODULE:VARIABLE``, ``MODULE:factory(args)``, ``MODULE``.

Every failure is an :class:`~corral.errors.AppImportError` with one readable line; an
exception raised by the user's own module names the file and line where it happened.
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from .errors import AppImportError

DEFAULT_VARIABLE = "application"  # as Gunicorn: "myapp" means "myapp:application"


def parse_app_uri(uri: str) -> tuple[str, str, tuple[Any, ...] | None, dict[str, Any]]:
    """Split ``module:expr`` into module, name, call args (None: not a call), kwargs."""
    module, sep, expr = uri.partition(":")
    module = module.strip()
    expr = expr.strip() if sep else DEFAULT_VARIABLE
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise AppImportError(f"'{uri}' is not MODULE:VARIABLE (for example myapp:app)")
    if not expr:
        raise AppImportError(f"'{uri}' names no variable after ':' (for example myapp:app)")
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise AppImportError(f"'{uri}': '{expr}' is not a variable name or a call") from None
    if isinstance(node, ast.Name):
        return module, node.id, None, {}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        try:
            args = tuple(ast.literal_eval(arg) for arg in node.args)
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        except ValueError:
            raise AppImportError(
                f"'{uri}': factory arguments must be literals (strings, numbers, ...)"
            ) from None
        if any(kw.arg is None for kw in node.keywords):
            raise AppImportError(f"'{uri}': **kwargs is not allowed in a factory call")
        return module, node.func.id, args, kwargs
    raise AppImportError(f"'{uri}': '{expr}' is not a variable name or a call")


def _where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame outside importlib, for the error message."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if "importlib" not in f.filename and not f.filename.endswith("appload.py")
    ]
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{os.path.relpath(exc.filename)}, line {exc.lineno}"
    if not frames:
        return ""
    last = frames[-1]
    return f"{os.path.relpath(last.filename)}, line {last.lineno}"


def describe_error(exc: BaseException) -> str:
    where = _where(exc)
    text = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{text} ({where})" if where else text


def load_application(
    app_uri: str | None, loader: Callable[[], Any] | None = None
) -> Callable[..., Any]:
    """The application to serve: ``loader()`` for a program embedding corral (corral.app),
    else the callable ``app_uri`` names (in the master with --preload, else in each worker)."""
    if loader is not None:
        return loader()  # type: ignore[no-any-return]
    assert app_uri is not None  # cli.prepare() refuses a configuration without one
    return load_app(app_uri)


def load_app(uri: str) -> Callable[..., Any]:
    """Import and return the WSGI callable named by ``uri``."""
    module_name, name, args, kwargs = parse_app_uri(uri)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise AppImportError(
                f"cannot import '{module_name}': no module named '{missing}' "
                f"(working directory {os.getcwd()}; use --chdir or --pythonpath)"
            ) from None
        raise AppImportError(f"importing '{module_name}' failed: {describe_error(exc)}") from None
    except SystemExit:
        raise AppImportError(f"importing '{module_name}' called sys.exit()") from None
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise AppImportError(f"importing '{module_name}' failed: {describe_error(exc)}") from None
    try:
        obj = getattr(module, name)
    except AttributeError:
        raise AppImportError(
            f"module '{module_name}' has no attribute '{name}' (looked in {module.__file__})"
        ) from None
    if args is not None:
        if not callable(obj):
            raise AppImportError(f"'{module_name}:{name}' is not callable, so cannot be called")
        try:
            obj = obj(*args, **kwargs)
        except Exception as exc:
            raise AppImportError(f"calling '{uri}' failed: {describe_error(exc)}") from None
    if obj is None:
        raise AppImportError(f"'{uri}' is None, not a WSGI application")
    if not callable(obj):
        raise AppImportError(f"'{uri}' is a {type(obj).__name__}, not a callable WSGI application")
    app: Callable[..., Any] = obj
    return app


def prepare_import_path(chdir: str | None, pythonpath: str | list[str] | None) -> None:
    """Apply --chdir and --pythonpath so the application's module can be found."""
    if chdir:
        try:
            os.chdir(chdir)
        except OSError as exc:
            raise AppImportError(f"--chdir {chdir}: {exc.strerror}") from None
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    if pythonpath:
        if isinstance(pythonpath, str):
            pythonpath = pythonpath.split(",")
        for entry in reversed([p.strip() for p in pythonpath if p.strip()]):
            path = os.path.abspath(entry)
            if path not in sys.path:
                sys.path.insert(0, path)
