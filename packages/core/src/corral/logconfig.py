"""``--log-config``, ``logconfig_dict``, ``--log-config-json``: the standard library's logging
configuration, applied in the master after corral has set up its own logs.

corral's error and access logs are the loggers ``corral.error`` and ``corral.access``; the
names Gunicorn uses, ``gunicorn.error`` and ``gunicorn.access``, are the same two logger
objects (an application that asks for ``logging.getLogger("gunicorn.error")`` gets corral's
error log too). So a configuration written for Gunicorn applies unchanged: the loggers it
names get exactly the level, handlers and propagation it gives them; the loggers it does not
name keep what corral gave them (``--error-logfile``, ``--access-logfile``, syslog).

A dict (or JSON) configuration is laid over defaults as in Gunicorn (``_defaults``: each
top-level key it gives replaces the default's); a file configuration is read with
``disable_existing_loggers`` false, ``%(here)s`` and ``%(__file__)s`` defined, as Gunicorn
does. corral's two loggers are never disabled by ``disable_existing_loggers``: silence
them with a level or no handlers.
Everything that can be checked is checked before anything is applied; what the standard
library only finds while applying (an unknown handler class, a bad level) is a ConfigError
with its reason, on one line.
"""

from __future__ import annotations

import configparser
import json
import logging
import logging.config
import os
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

ERROR_LOGGER_NAME = "corral.error"
ACCESS_LOGGER_NAME = "corral.access"
#: Gunicorn's logger name -> corral's: one logger object under both names.
GUNICORN_NAMES = {"gunicorn.error": ERROR_LOGGER_NAME, "gunicorn.access": ACCESS_LOGGER_NAME}


def corral_loggers() -> tuple[logging.Logger, logging.Logger]:
    """The error and access loggers, registered under Gunicorn's names too."""
    loggers = logging.getLogger(ERROR_LOGGER_NAME), logging.getLogger(ACCESS_LOGGER_NAME)
    registry = logging.Logger.manager.loggerDict
    for alias, name in GUNICORN_NAMES.items():
        registry[alias] = logging.getLogger(name)
    return loggers


@dataclass(frozen=True)
class LogConfig:
    """A checked logging configuration, ready to apply: a dict, or a parsed ini file."""

    setting: str  # how to name it in messages: "logconfig_dict", "--log-config FILE"...
    config: dict[str, Any] | None = None  # for dictConfig
    parser: configparser.ConfigParser | None = None  # for fileConfig
    configures: frozenset[str] = frozenset()  # which of corral's loggers it names


def _one_line(exc: BaseException) -> str:
    """The reason of a logging configuration error, with its cause, on one line."""
    if isinstance(exc, KeyError) and exc.args:  # fileConfig: a section or key is missing
        return f"missing {exc.args[0]!r} (a section or key the file format needs)"
    parts = [str(exc) or type(exc).__name__]
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in parts[0]:
        parts.append(str(cause))
    return ": ".join(" ".join(p.split()) for p in parts)


def _corral_names(setting: str, names: list[str]) -> frozenset[str]:
    """Which of corral's loggers ``names`` configure (under either name)."""
    for alias, name in GUNICORN_NAMES.items():
        if alias in names and name in names:
            raise ConfigError(
                f"{setting}: configures both '{alias}' and '{name}', which are one logger "
                "in corral; keep one of them"
            )
    return frozenset(GUNICORN_NAMES.get(n, n) for n in names) & set(GUNICORN_NAMES.values())


def _defaults() -> dict[str, Any]:
    """What a dict configuration starts from (each key it gives replaces one of these, as
    in Gunicorn): handlers ``console`` (stdout) and ``error_console`` (stderr) with the
    formatter ``generic`` (the error log's format), and the root logger at INFO on
    ``console``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "generic": {
                "format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s",
                "datefmt": "%Y-%m-%d %H:%M:%S %z",
            }
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "generic",
                "stream": "ext://sys.stdout",
            },
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "generic",
                "stream": "ext://sys.stderr",
            },
        },
    }


def _from_dict(setting: str, raw: object) -> LogConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{setting}: expected a dict, got {type(raw).__name__}")
    config = {**_defaults(), **raw}
    handlers = config.get("handlers")
    if "root" not in config and isinstance(handlers, dict) and "console" in handlers:
        # (Gunicorn gives the root to 'console' even when the dict has no such handler,
        # and fails; corral leaves the root alone then.)
        config["root"] = {"level": "INFO", "handlers": ["console"]}
    loggers = config.get("loggers") or {}
    if not isinstance(loggers, dict):
        raise ConfigError(f"{setting}: 'loggers' must be a dict, not {type(loggers).__name__}")
    return LogConfig(setting, config=config, configures=_corral_names(setting, list(loggers)))


def _read_json(path: str) -> LogConfig:
    setting = f"--log-config-json {path!r}"
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read it: {exc.strerror or exc}") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ConfigError(f"{setting}: not valid JSON: {exc}") from None
    return _from_dict(setting, raw)


def _read_ini(path: str) -> LogConfig:
    setting = f"--log-config {path!r}"
    if not os.path.isfile(path):
        raise ConfigError(f"{setting}: no such file")
    absolute = os.path.abspath(path)
    parser = configparser.ConfigParser({"__file__": absolute, "here": os.path.dirname(absolute)})
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
        keys = parser.get("loggers", "keys")
        names = []
        for key in (k.strip() for k in keys.split(",") if k.strip()):
            if key != "root":
                names.append(parser.get(f"logger_{key}", "qualname"))
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read it: {exc.strerror or exc}") from None
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{setting}: {' '.join(str(exc).split())}") from None
    return LogConfig(setting, parser=parser, configures=_corral_names(setting, names))


def load(
    logconfig: str | None, logconfig_dict: dict[str, Any] | None, logconfig_json: str | None
) -> tuple[LogConfig | None, list[str]]:
    """The configuration the settings ask for, read and checked, with warnings for those
    that lose to another (Gunicorn's order: the dict, then the JSON file, then the ini file)."""
    asked = [
        (name, value)
        for name, value in (
            ("logconfig_dict", logconfig_dict),
            ("--log-config-json", logconfig_json),
            ("--log-config", logconfig),
        )
        if value
    ]
    if not asked:
        return None, []
    winner = asked[0][0]
    warnings = [f"{name} is ignored: {winner} takes precedence" for name, _ in asked[1:]]
    if logconfig_dict:
        return _from_dict("logconfig_dict", logconfig_dict), warnings
    if logconfig_json:
        return _read_json(logconfig_json), warnings
    assert logconfig is not None
    return _read_ini(logconfig), warnings


def apply(config: LogConfig) -> None:
    """Apply ``config`` to the logging module; ConfigError (one line) if it fails."""
    try:
        if config.parser is not None:
            logging.config.fileConfig(config.parser, disable_existing_loggers=False)
        else:
            logging.config.dictConfig(config.config or {})
    except Exception as exc:  # the stdlib raises many kinds, all of them a bad configuration
        raise ConfigError(f"{config.setting}: {_one_line(exc)}") from None
    for logger in corral_loggers():
        logger.disabled = False
