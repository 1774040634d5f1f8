"""corral's configuration: settings are data.

Every setting is one row of :data:`SETTINGS` (see :mod:`corral.config.settings`); the
command-line parser, ``--help``, the config-file loader, the ``CORRAL_CMD_ARGS`` /
``GUNICORN_CMD_ARGS`` environment arguments and ``docs/settings.md`` are generated from it.

Typical use::

    cfg = load_config(sys.argv[1:], os.environ)
    cfg.workers, cfg.bind, cfg.post_fork(server, worker), cfg.source("workers")
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from corral.config import sources as _sources
from corral.config import validators as _validators
from corral.config.settings import SETTINGS, SETTINGS_BY_NAME, Setting
from corral.errors import UsageError

__all__ = ["SETTINGS", "Config", "Setting", "load_config"]


class Config:
    """The resolved configuration: read-only attributes named after the settings.

    Holds plain values only (no open files); build a modified copy with :meth:`replace`.
    """

    __slots__ = ("_app", "_config_file", "_cwd", "_sources", "_values", "_warnings")

    _values: dict[str, Any]
    _sources: dict[str, str]
    _warnings: tuple[str, ...]
    _config_file: str | None
    _app: str | None
    _cwd: str

    def __init__(
        self,
        values: Mapping[str, Any],
        sources: Mapping[str, str],
        *,
        warnings: Sequence[str] = (),
        config_file: str | None = None,
        app: str | None = None,
        cwd: str = ".",
    ) -> None:
        missing = set(SETTINGS_BY_NAME) - set(values)
        if missing:
            raise TypeError(f"Config is missing settings: {', '.join(sorted(missing))}")
        set_ = object.__setattr__
        set_(self, "_values", dict(values))
        set_(self, "_sources", {name: sources.get(name, _sources.DEFAULT) for name in values})
        set_(self, "_warnings", tuple(warnings))
        set_(self, "_config_file", config_file)
        set_(self, "_app", app)
        set_(self, "_cwd", cwd)

    # -- attribute access ----------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails, i.e. for setting names.
        try:
            values = object.__getattribute__(self, "_values")
        except AttributeError:
            raise AttributeError(name) from None
        try:
            value = values[name]
        except KeyError:
            raise AttributeError(f"no setting named {name!r}") from None
        return list(value) if isinstance(value, list) else value

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Config is read-only; use cfg.replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Config is read-only")

    def __getstate__(self) -> dict[str, Any]:
        return {name: object.__getattribute__(self, name) for name in Config.__slots__}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        for name in Config.__slots__:
            object.__setattr__(self, name, state[name])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return self.__getstate__() == other.__getstate__()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Config app={self._app!r} config_file={self._config_file!r}>"

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._values})

    # -- extras --------------------------------------------------------------------------------

    @property
    def app_uri(self) -> str | None:
        """The application: the APP argument if given, else the ``wsgi_app`` setting."""
        if self._app is not None:
            return self._app
        wsgi_app = self._values.get("wsgi_app")
        return wsgi_app if isinstance(wsgi_app, str) else None

    @property
    def process_name(self) -> str:
        """The name in the process titles (and the logs): ``proc_name`` (``--name``), else
        ``default_proc_name``, else the APP argument, else ``corral``; as Gunicorn resolves
        its ``proc_name``, where the APP argument sets ``default_proc_name`` unless the
        config file does."""
        for name in (self._values.get("proc_name"), self._values.get("default_proc_name")):
            if isinstance(name, str):
                return name
        return self._app if self._app is not None else "corral"

    @property
    def config_file(self) -> str | None:
        """Absolute path of the config file that was loaded, or None."""
        return self._config_file

    @property
    def warnings(self) -> list[str]:
        """Messages about ignored or misspelt settings; the CLI logs them."""
        return list(self._warnings)

    def source(self, name: str) -> str:
        """Where the value of setting ``name`` came from.

        One of ``"default"``, ``"config file"``, ``"GUNICORN_CMD_ARGS"``,
        ``"CORRAL_CMD_ARGS"``, ``"command line"`` (or ``"override"`` after :meth:`replace`).
        """
        if name not in self._sources:
            raise KeyError(f"no setting named {name!r}")
        return self._sources[name]

    def to_dict(self) -> dict[str, Any]:
        """Setting name -> value, in table order; callables and classes by qualified name."""
        result: dict[str, Any] = {}
        for setting in SETTINGS:
            value = self._values[setting.name]
            if callable(value):
                value = _validators.describe_callable(value)
            elif isinstance(value, list):
                value = list(value)
            result[setting.name] = value
        return result

    def replace(self, **changes: Any) -> Config:
        """A copy with some settings changed; values are validated like config-file values."""
        values = dict(self._values)
        sources = dict(self._sources)
        for name, raw in changes.items():
            setting = SETTINGS_BY_NAME.get(name)
            if setting is None:
                raise TypeError(f"no setting named {name!r}")
            try:
                values[name] = setting.validator(raw)
            except ValueError as exc:
                raise UsageError(f"setting '{name}': {exc}")
            sources[name] = _sources.OVERRIDE
        if "chdir" in changes:
            try:
                _sources.resolve_paths(values, self._cwd, "setting 'chdir'")
            except ValueError as exc:
                raise UsageError(str(exc))
        return Config(
            values,
            sources,
            warnings=self._warnings,
            config_file=self._config_file,
            app=self._app,
            cwd=self._cwd,
        )


def load_config(argv: Sequence[str], environ: Mapping[str, str], cwd: str | None = None) -> Config:
    """Build the configuration from the command line (without the program name), the
    environment and the config file.

    Raises :class:`~corral.errors.UsageError` for a bad command line or environment
    argument, :class:`~corral.errors.ConfigError` for a bad config file and
    :class:`~corral.errors.InfoExit` for ``--help`` / ``--version``.
    """
    directory = os.path.abspath(cwd if cwd is not None else os.getcwd())
    resolved = _sources.resolve(argv, environ, directory)
    return Config(
        resolved.values,
        resolved.sources,
        warnings=resolved.warnings,
        config_file=resolved.config_file,
        app=resolved.app,
        cwd=resolved.cwd,
    )
