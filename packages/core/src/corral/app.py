"""Embedding corral in a program: an application object that configures and runs the server.

The shape is Gunicorn's ``gunicorn.app.base.BaseApplication``, so a program written for it
runs on corral once its import names ``corral.app`` (docs/embedding.md shows both)::

    class Standalone(Application):
        def __init__(self, app, options=None):
            self.options = options or {}
            self.application = app
            super().__init__()

        def load_config(self):                 # set settings on self.cfg
            for key, value in self.options.items():
                self.cfg.set(key.lower(), value)

        def load(self):                        # return the WSGI application
            return self.application

    Standalone(app, {"bind": "127.0.0.1:8000", "workers": 4}).run()

Without overriding them, ``load_config()`` applies ``self.options`` and ``load()`` returns
``self.application``, so ``Application(app=app, options={...}).run()`` does the same.
:class:`WSGIApplication` serves ``MODULE:VARIABLE`` instead.

``self.cfg`` checks each value as the command line does: ``cfg.set()`` of a name that is
no setting, or of a bad value, is an error (one line on stderr, exit 2, as ``corral`` with
a bad flag); a Gunicorn setting corral does not implement is warned about or refused as in
a config file. ``cfg.settings`` maps every name Gunicorn's does (those too) to an object
with ``name``, ``value``, ``get()`` and ``set()``, so ``key in self.cfg.settings`` filters
options as it does with Gunicorn.

As with Gunicorn's base class, nothing else is read: no command line, no
``GUNICORN_CMD_ARGS``, no config file unless the program asks with
:meth:`Application.load_config_from_file` (whose values then replace those set before the
call, and are replaced by those set after). Defaults that come from the environment
(``PORT``, ``WEB_CONCURRENCY``) apply as they do for the command.

``load()`` runs in each worker after the fork (in the master with ``preload_app``), as
with Gunicorn. ``run()`` starts the arbiter as the ``corral`` command does
(:func:`corral.cli.serve`) and exits the process with its exit code. On HUP
``load_config()`` runs again in the master; if it fails, the running workers go on
(Gunicorn's master would exit). USR2 re-executes the program's own command line.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .appload import describe_error, load_app
from .config import Config
from .config import sources as _sources
from .config.settings import SETTINGS, SETTINGS_BY_NAME, UNSUPPORTED_BY_NAME
from .errors import AppImportError, ConfigError, CorralError, UsageError

__all__ = ["AppConfig", "Application", "BaseApplication", "SettingView", "WSGIApplication"]

# What Config.source(name) says of a value set by the embedding program.
APPLICATION = "application"


class SettingView:
    """One entry of ``cfg.settings``: a setting as Gunicorn's ``Setting`` shows it."""

    def __init__(self, cfg: AppConfig, name: str) -> None:
        self._cfg = cfg
        self.name = name
        row = SETTINGS_BY_NAME.get(name)
        unsupported = UNSUPPORTED_BY_NAME.get(name)
        self.supported = row is not None
        self.section = row.section if row is not None else "Not supported by corral"
        self.cli = list(row.flags if row is not None else unsupported.flags if unsupported else ())
        self.meta = row.metavar if row is not None else None
        self.default = row.default if row is not None else None
        self.short = row.short if row is not None else unsupported.why if unsupported else ""
        self.desc = row.doc.strip() if row is not None else self.short

    @property
    def value(self) -> Any:
        return self._cfg.get(self.name)

    def get(self) -> Any:
        return self.value

    def set(self, value: object) -> None:
        self._cfg.set(self.name, value)

    def __repr__(self) -> str:
        return f"<SettingView {self.name}={self.value!r}>"


class AppConfig:
    """``self.cfg`` of an :class:`Application`: settings by name, each value checked when set.

    Read a value as an attribute (``cfg.workers``); set one with ``cfg.set(name, value)``.
    :meth:`build` makes the read-only :class:`corral.config.Config` the server runs with.
    """

    def __init__(
        self,
        usage: str | None = None,
        prog: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.usage = usage
        self.prog = prog
        self._values = _sources.default_values(os.environ if environ is None else environ)
        self._sources = dict.fromkeys(self._values, _sources.DEFAULT)
        self._warnings: list[str] = []
        self._config_file: str | None = None
        names = [s.name for s in SETTINGS] + list(UNSUPPORTED_BY_NAME)
        self.settings: dict[str, SettingView] = {name: SettingView(self, name) for name in names}

    def set(self, name: str, value: object) -> None:
        """Set one setting, checked as a config-file value is; an unknown name or a bad value
        raises :class:`~corral.errors.UsageError`."""
        where = f"setting '{name}'"
        setting = SETTINGS_BY_NAME.get(name)
        if setting is not None and not setting.cli_only:
            try:
                self._values[name] = setting.validator(value)
            except (ValueError, TypeError) as exc:
                raise UsageError(f"{where}: {exc}")
            self._sources[name] = APPLICATION
            return
        unsupported = UNSUPPORTED_BY_NAME.get(name)
        if unsupported is not None:
            if unsupported.inactive(value):
                return  # it asks for what corral does anyway
            if unsupported.refuse:
                raise UsageError(_sources.refusal(where, unsupported))
            self._warnings.append(_sources.ignored(where, unsupported))
            return
        if name == "config":
            raise UsageError(
                f"{where}: an embedding program reads a config file with "
                "self.load_config_from_file(path) in load_config()"
            )
        message = f"{where}: there is no such setting"
        close = difflib.get_close_matches(name, list(self.settings), n=1, cutoff=0.8)
        if close:
            message += f" (did you mean '{close[0]}'?)"
        raise UsageError(message)

    def load_file(self, location: str, cwd: str | None = None) -> None:
        """Apply a config file (``PATH``, ``file:PATH`` or ``python:MODULE``) checked as the
        command checks one: a bad value is a :class:`~corral.errors.ConfigError`."""
        result = _sources.load_config_file(location, os.path.abspath(cwd or os.getcwd()))
        assert result is not None  # a named file that is not there raised ConfigError
        for name, value in result.values.items():  # checked already
            self._values[name] = value
            self._sources[name] = _sources.CONFIG_FILE
        self._warnings.extend(result.warnings)
        self._config_file = result.path

    def get(self, name: str) -> Any:
        if name in self._values:
            value = self._values[name]
            return list(value) if isinstance(value, list) else value
        if name in UNSUPPORTED_BY_NAME:
            return None
        raise AttributeError(f"no setting named {name!r}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.settings)

    def build(self, app_uri: str | None = None) -> Config:
        """The configuration to run with (``chdir`` made absolute and checked)."""
        values = dict(self._values)
        cwd = os.getcwd()
        try:
            _sources.resolve_paths(values, cwd, "setting 'chdir'")
        except ValueError as exc:
            raise UsageError(str(exc))
        return Config(
            values,
            self._sources,
            warnings=self._warnings,
            config_file=self._config_file,
            app=app_uri,
            cwd=cwd,
        )


def _fail(exc: CorralError) -> None:
    sys.stderr.write(f"corral: error: {exc.message}\n")
    sys.stderr.flush()
    sys.exit(exc.exit_code)


class Application:
    """A program's server: subclass it, or give ``app`` and ``options``.

    Override :meth:`load_config` (set settings on ``self.cfg``) and :meth:`load` (return the
    WSGI application); then call :meth:`run`. The arguments are Gunicorn's (``usage``,
    ``prog``) followed by two of corral's, by keyword only.
    """

    options: Mapping[str, Any] = {}
    application: Callable[..., Any] | None = None

    def __init__(
        self,
        usage: str | None = None,
        prog: str | None = None,
        *,
        app: Callable[..., Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if app is not None:
            self.application = app
        if options is not None:
            self.options = dict(options)
        self.usage = usage
        self.prog = prog
        self.callable: Callable[..., Any] | None = None
        self._start_dir = os.getcwd()
        self.cfg = AppConfig(usage, prog)
        self.do_load_config()

    # -- what a program overrides --------------------------------------------------------------

    def load_config(self) -> None:
        """Set the settings: by default every entry of ``self.options``."""
        for key, value in self.options.items():
            self.cfg.set(key.lower(), value)

    def load(self) -> Callable[..., Any]:
        """Return the WSGI application: by default ``self.application``."""
        if self.application is None:
            raise AppImportError(
                f"{type(self).__name__} has no application: override load(), or give app=..."
            )
        return self.application

    # -- configuration --------------------------------------------------------------------------

    def load_default_config(self) -> None:
        self.cfg = AppConfig(self.usage, self.prog)

    def load_config_from_file(self, location: str) -> None:
        """Apply a config file (``PATH``, ``file:PATH``, ``python:MODULE``), as ``-c`` does."""
        self.cfg.load_file(location)

    load_config_from_filename = load_config_from_file  # Gunicorn's other spelling

    def reload(self) -> None:
        """Read the configuration again (HUP): ``load_default_config()`` then
        ``load_config()``. Raises :class:`~corral.errors.CorralError`; on failure the
        previous ``self.cfg`` stays."""
        previous = self.cfg
        try:
            self.load_default_config()
            self.load_config()
        except CorralError:
            self.cfg = previous
            raise
        except Exception as exc:
            self.cfg = previous
            raise ConfigError(f"{type(self).__name__}.load_config() failed: {describe_error(exc)}")

    def do_load_config(self) -> None:
        """Read the configuration; a mistake ends the program with one line on stderr."""
        try:
            self.reload()
        except CorralError as exc:
            _fail(exc)

    # -- serving ------------------------------------------------------------------------------

    def wsgi(self) -> Callable[..., Any]:
        """The application, from :meth:`load` the first time (in each worker)."""
        if self.callable is None:
            try:
                app = self.load()
            except CorralError:
                raise
            except Exception as exc:
                raise AppImportError(f"{type(self).__name__}.load() failed: {describe_error(exc)}")
            if not callable(app):
                raise AppImportError(
                    f"{type(self).__name__}.load() returned a {type(app).__name__}, "
                    "not a callable WSGI application"
                )
            self.callable = app
        return self.callable

    def app_uri_for_config(self) -> str | None:
        """What the configuration names as the application (None: this object's load())."""
        return None

    def _startup(self) -> Any:
        """HUP: the configuration read again, from the folder the program started in (as
        the command reads it: ``chdir`` may have moved the master since)."""
        from .cli import prepare

        here = os.getcwd()
        os.chdir(self._start_dir)
        try:
            self.reload()
            cfg = self.cfg.build(self.app_uri_for_config())
        finally:
            os.chdir(here)
        return prepare(cfg, embedded=True)

    def run(self) -> None:
        """Serve until stopped, as the ``corral`` command; exits with the server's code."""
        from .cli import serve

        start_dir = self._start_dir = os.getcwd()
        try:
            code = serve(
                self.cfg.build(self.app_uri_for_config()),
                self._startup,
                argv=[],
                command=[sys.executable, *sys.argv],
                start_dir=start_dir,
                loader=self.wsgi,
                label=f"{type(self).__name__}.load()",
            )
        except CorralError as exc:
            _fail(exc)
        except KeyboardInterrupt:  # Ctrl-C before the arbiter took over the signals
            sys.exit(130)
        sys.exit(code)


BaseApplication = Application  # Gunicorn's name


class WSGIApplication(Application):
    """Serves ``MODULE:VARIABLE`` (imported as the command imports it: in each worker, or
    once in the master with ``preload_app``): ``WSGIApplication(app_uri="myapp:app",
    options={...}).run()``. Without ``app_uri`` the ``wsgi_app`` setting names it."""

    app_uri: str | None = None

    def __init__(
        self,
        usage: str | None = None,
        prog: str | None = None,
        *,
        app_uri: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if app_uri is not None:
            self.app_uri = app_uri
        super().__init__(usage, prog, options=options)

    def app_uri_for_config(self) -> str | None:
        uri = self.app_uri or self.cfg.wsgi_app
        if not uri:
            raise UsageError(
                "no application given: WSGIApplication(app_uri='MODULE:VARIABLE'), "
                "or the setting wsgi_app"
            )
        return str(uri)

    def load(self) -> Callable[..., Any]:
        return load_app(str(self.app_uri_for_config()))
