"""Where setting values come from, and how they are merged.

Precedence, lowest to highest::

    defaults < config file < GUNICORN_CMD_ARGS < CORRAL_CMD_ARGS < command line

The command line and both environment variables are parsed by the same :mod:`argparse`
parser, generated from the settings table. The config file is Python, executed with
``__file__`` set; its top-level names that are settings are applied.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import os
import shlex
import sys
import traceback
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from corral import __version__
from corral.config.settings import (
    SECTIONS,
    SETTINGS,
    SETTINGS_BY_NAME,
    UNSUPPORTED_BY_NAME,
    UNSUPPORTED_SETTINGS,
    Setting,
    UnsupportedSetting,
)
from corral.config.validators import app_uri
from corral.errors import ConfigError, InfoExit, UsageError

# Labels reported by Config.source(name).
DEFAULT = "default"
CONFIG_FILE = "config file"
GUNICORN_ENV = "GUNICORN_CMD_ARGS"
CORRAL_ENV = "CORRAL_CMD_ARGS"
COMMAND_LINE = "command line"
OVERRIDE = "override"  # set through Config.replace()

# Config files looked for in the working directory when none is named.
DEFAULT_CONFIG_FILES = ("corral.conf.py", "gunicorn.conf.py")

# difflib ratio from which a config-file name is reported as a probable typo of a setting.
TYPO_RATIO = 0.85

PROG = "corral"
USAGE = "corral [OPTIONS] [APP]"
DESCRIPTION = (
    "Serve the WSGI application APP (MODULE:VARIABLE) with a pool of worker processes. "
    "Settings are also read from a config file (-c, default ./corral.conf.py or "
    "./gunicorn.conf.py) and from the CORRAL_CMD_ARGS and GUNICORN_CMD_ARGS environment "
    "variables; the command line wins."
)


# ---------------------------------------------------------------------------------------------
# The argparse parser


@dataclass
class ParsedArgs:
    """What one argument list (command line or environment variable) says."""

    values: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)  # setting name -> flag as typed
    app: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message.strip() if message else f"exit status {status}")


def _state(namespace: argparse.Namespace) -> ParsedArgs:
    state = getattr(namespace, "_corral", None)
    if state is None:
        state = ParsedArgs()
        namespace._corral = state
    assert isinstance(state, ParsedArgs)
    return state


class _SettingAction(argparse.Action):
    """Validates the value as soon as it is seen, so errors name the flag as typed."""

    def __init__(self, option_strings: Sequence[str], dest: str, setting: Setting) -> None:
        nargs: int | str | None
        if setting.nargs is not None:
            nargs = setting.nargs
        elif setting.takes_value:
            nargs = None
        else:
            nargs = 0
        super().__init__(
            option_strings,
            dest,
            nargs=nargs,
            default=argparse.SUPPRESS,
            metavar=setting.metavar,
            help=_help_text(setting),
        )
        self.setting = setting

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setting = self.setting
        state = _state(namespace)
        # Errors name the long flag (``--workers``) even when the short one was typed.
        flag = setting.long_flag or option_string or setting.name
        if setting.action == "store_true":
            raw: object = True
        elif setting.action == "store_false":
            raw = False
        elif setting.action == "store_const" or (setting.nargs == "?" and values is None):
            raw = setting.const
        elif (
            setting.nargs == "?"
            and setting.choices
            and isinstance(values, str)
            and values not in setting.choices
            and ":" in values
        ):
            # A bare optional-value flag right before APP (`--proxy-protocol app:app`):
            # the word is the application, and the flag takes its bare meaning.
            raw = setting.const
            state.app.append(values)
        elif setting.action == "append":
            raw = [*state.values.get(setting.name, []), values]
        else:
            raw = values
        try:
            state.values[setting.name] = setting.validator(raw)
        except ValueError as exc:
            raise UsageError(f"{flag}: {exc}")
        state.flags[setting.name] = flag


class _UnsupportedAction(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        unsupported = UNSUPPORTED_BY_NAME[self.dest]
        value = True if self.nargs == 0 else values
        where = f"option '{option_string}' (Gunicorn setting '{self.dest}')"
        if unsupported.inactive(value):
            return  # it asks for what corral does anyway
        if unsupported.refuse:
            raise UsageError(refusal(where, unsupported))
        _state(namespace).warnings.append(ignored(where, unsupported))


def refusal(where: str, unsupported: UnsupportedSetting) -> str:
    reason = unsupported.refuse
    return (
        f"{where} is not supported yet, and corral refuses to start rather than ignore it: {reason}"
    )


def ignored(where: str, unsupported: UnsupportedSetting) -> str:
    return f"{where} is not supported by corral and is ignored: {unsupported.why}"


class _InfoAction(argparse.Action):
    """``--help`` and ``--version``: raise InfoExit with the text instead of printing it."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if self.dest == "version":
            raise InfoExit(f"{PROG} {__version__}")
        raise InfoExit(parser.format_help().rstrip("\n"))


class _AppAction(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        assert isinstance(values, list)
        _state(namespace).app.extend(values)


def _help_text(setting: Setting) -> str:
    if setting.action in ("store_true", "store_false", "store_const") or setting.default is None:
        text = setting.short
    else:
        default = setting.default
        shown = ",".join(default) if isinstance(default, list) else str(default)
        text = f"{setting.short} [default: {shown}]"
    if setting.choices:
        text += f" (one of: {', '.join(setting.choices)})"
    return text.replace("%", "%%")


def build_parser(settings: Sequence[Setting] = SETTINGS) -> argparse.ArgumentParser:
    """The argument parser for ``corral``, generated from the settings table."""
    parser = _Parser(
        prog=PROG,
        usage=USAGE,
        description=DESCRIPTION,
        add_help=False,
        allow_abbrev=False,
        exit_on_error=False,
    )
    parser.add_argument(
        "app",
        nargs="*",
        metavar="APP",
        action=_AppAction,
        default=argparse.SUPPRESS,
        help="the WSGI application, as MODULE:VARIABLE (or the wsgi_app setting)",
    )
    general = parser.add_argument_group("General")
    general.add_argument("-h", "--help", action=_InfoAction, help="show this help and exit")
    general.add_argument("-v", "--version", action=_InfoAction, help="show the version and exit")
    groups = {section: parser.add_argument_group(section) for section in SECTIONS}
    for setting in settings:
        if setting.flags:
            groups[setting.section].add_argument(
                *setting.flags, action=_SettingAction, dest=setting.name, setting=setting
            )
    for unsupported in UNSUPPORTED_SETTINGS:
        if unsupported.flags:
            parser.add_argument(
                *unsupported.flags,
                action=_UnsupportedAction,
                dest=unsupported.name,
                nargs=None if unsupported.takes_value else 0,
                default=argparse.SUPPRESS,
                help=argparse.SUPPRESS,
            )
    return parser


def known_flags(settings: Sequence[Setting] = SETTINGS) -> list[str]:
    """Every flag the parser accepts."""
    flags = ["-h", "--help", "-v", "--version"]
    for setting in settings:
        flags.extend(setting.flags)
    for unsupported in UNSUPPORTED_SETTINGS:
        flags.extend(unsupported.flags)
    return flags


def _argument_error(exc: argparse.ArgumentError, settings: Sequence[Setting]) -> UsageError:
    name = exc.argument_name or ""
    flag = max(name.split("/"), key=len) if name else ""
    message = exc.message
    if message.startswith("expected one argument"):
        action = next(
            (s for s in settings if flag in s.flags),
            None,
        )
        what = action.metavar if action and action.metavar else "a value"
        return UsageError(f"{flag}: missing value (expected {what})")
    if message.startswith("ignored explicit argument"):
        value = message.removeprefix("ignored explicit argument").strip()
        return UsageError(f"{flag}: takes no value, got {value}")
    return UsageError(f"{flag}: {message}" if flag else message)


def parse_args(args: Sequence[str], settings: Sequence[Setting] = SETTINGS) -> ParsedArgs:
    """Parse one argument list; raise UsageError (or InfoExit for --help/--version)."""
    parser = build_parser(settings)
    namespace = argparse.Namespace()
    try:
        _, extras = parser.parse_known_args(list(args), namespace)
    except argparse.ArgumentError as exc:
        raise _argument_error(exc, settings)
    state = _state(namespace)
    for extra in extras:
        if extra.startswith("-") and extra != "-":
            option = extra.split("=", 1)[0]
            message = f"unrecognized option '{option}'"
            close = difflib.get_close_matches(option, known_flags(settings), n=1, cutoff=0.75)
            if close:
                message += f" (did you mean '{close[0]}'?)"
            raise UsageError(message)
    if len(state.app) + len(extras) > 1:
        unexpected = [*state.app, *extras][1]
        raise UsageError(f"unexpected extra argument '{unexpected}' (only one APP may be given)")
    if extras:
        state.app.append(extras[0])
    if state.app:
        try:
            app_uri(state.app[0])
        except ValueError as exc:
            raise UsageError(f"APP: {exc}")
    return state


def parse_env_args(var: str, environ: Mapping[str, str]) -> ParsedArgs:
    """Parse the arguments held in environment variable ``var`` (shell-style quoting)."""
    text = environ.get(var, "")
    if not text.strip():
        return ParsedArgs()
    try:
        args = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"{var}: cannot split the value into arguments: {exc}")
    try:
        parsed = parse_args(args)
    except UsageError as exc:
        raise UsageError(f"{var}: {exc.message}")
    if parsed.app:
        raise UsageError(f"{var}: the application cannot be given here, got '{parsed.app[0]}'")
    parsed.warnings = [f"{var}: {w}" for w in parsed.warnings]
    return parsed


# ---------------------------------------------------------------------------------------------
# The config file


@dataclass
class ConfigFileResult:
    path: str  # absolute path of the file executed
    display: str  # how error messages name it
    values: dict[str, Any]
    warnings: list[str]


def _display_name(path: str, cwd: str) -> str:
    relative = os.path.relpath(path, cwd)
    return path if relative.startswith("..") else relative


def locate_config_file(spec: str | None, cwd: str) -> tuple[str, str] | None:
    """Find the config file: ``(absolute path, display name)``, or None if there is none.

    ``spec`` is the ``--config`` value: ``PATH``, ``file:PATH`` or ``python:MODULE``. Without
    it, ``corral.conf.py`` then ``gunicorn.conf.py`` are looked for in ``cwd``.
    """
    if spec is None:
        for name in DEFAULT_CONFIG_FILES:
            candidate = os.path.join(cwd, name)
            if os.path.isfile(candidate):
                return candidate, name
        return None
    if spec.startswith("python:"):
        module = spec[len("python:") :]
        return _locate_module(module, cwd), spec
    path_text = spec[len("file:") :] if spec.startswith("file:") else spec
    path = os.path.normpath(os.path.join(cwd, os.path.expanduser(path_text)))
    if not os.path.exists(path):
        raise ConfigError(f"config file not found: '{path_text}'")
    if not os.path.isfile(path):
        raise ConfigError(f"config file is not a regular file: '{path_text}'")
    return path, path_text


def _locate_module(module: str, cwd: str) -> str:
    sys.path.insert(0, cwd)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"config module 'python:{module}' cannot be found: {exc}")
    finally:
        try:
            sys.path.remove(cwd)
        except ValueError:
            pass
    origin = spec.origin if spec is not None else None
    if origin is None or not origin.endswith(".py") or not os.path.isfile(origin):
        raise ConfigError(f"config module 'python:{module}' cannot be found as a .py file")
    return origin


def execute_config_file(path: str, display: str, cwd: str) -> dict[str, Any]:
    """Run the config file as Python and return its top-level names."""
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file '{display}': {exc.strerror or exc}")
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = f", line {exc.lineno}" if exc.lineno else ""
        raise ConfigError(f"{display}{line}: {exc.msg}")
    except ValueError as exc:  # e.g. null bytes in the source
        raise ConfigError(f"{display}: {exc}")
    module = types.ModuleType("__config__")
    module.__file__ = path
    namespace = module.__dict__
    sys.path.insert(0, cwd)
    try:
        exec(code, namespace)
    except (Exception, SystemExit) as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
        line = f", line {frames[-1].lineno}" if frames else ""
        detail = str(exc)
        kind = type(exc).__name__
        raise ConfigError(
            f"{display}{line}: {kind}: {detail}" if detail else f"{display}{line}: {kind}"
        )
    finally:
        try:
            sys.path.remove(cwd)
        except ValueError:
            pass
    return dict(namespace)


def _suggest(name: str) -> str | None:
    best, best_ratio = None, 0.0
    candidates = [s.name for s in SETTINGS if not s.cli_only] + list(UNSUPPORTED_BY_NAME)
    for candidate in candidates:
        ratio = difflib.SequenceMatcher(None, name, candidate).ratio()
        if ratio > best_ratio:
            best, best_ratio = candidate, ratio
    return best if best_ratio >= TYPO_RATIO else None


def config_file_values(
    namespace: Mapping[str, Any], display: str
) -> tuple[dict[str, Any], list[str]]:
    """Validate the settings found in a config file's namespace; collect warnings."""
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for name, raw in namespace.items():
        if name.startswith("_"):
            continue
        setting = SETTINGS_BY_NAME.get(name)
        if setting is not None:
            if setting.cli_only:
                continue
            try:
                values[name] = setting.validator(raw)
            except ValueError as exc:
                raise ConfigError(f"{display}: setting '{name}': {exc}")
        elif name in UNSUPPORTED_BY_NAME:
            unsupported = UNSUPPORTED_BY_NAME[name]
            if unsupported.inactive(raw):
                continue  # it asks for what corral does anyway (daemon = False, user = None)
            where = f"{display}: setting '{name}'"
            if unsupported.refuse:
                raise ConfigError(refusal(where, unsupported))
            warnings.append(ignored(where, unsupported))
        elif not isinstance(raw, types.ModuleType):
            suggestion = _suggest(name)
            if suggestion:
                warnings.append(
                    f"{display}: '{name}' is not a setting (did you mean '{suggestion}'?) "
                    "and is ignored"
                )
    return values, warnings


def load_config_file(spec: str | None, cwd: str) -> ConfigFileResult | None:
    located = locate_config_file(spec, cwd)
    if located is None:
        return None
    path, display = located
    namespace = execute_config_file(path, display, cwd)
    values, warnings = config_file_values(namespace, display)
    return ConfigFileResult(path, display, values, warnings)


# ---------------------------------------------------------------------------------------------
# Defaults and merging


def default_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """Every setting's default, some of them taken from the environment (PORT...)."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        from_env = setting.env_default(environ) if setting.env_default else None
        if from_env is not None:
            var, raw = from_env
            try:
                values[setting.name] = setting.validator(raw)
            except ValueError as exc:
                raise UsageError(f"environment variable {var} (default of '{setting.name}'): {exc}")
        else:
            values[setting.name] = setting.validator(setting.default)
    return values


def resolve_paths(values: dict[str, Any], cwd: str, describe: str) -> None:
    """Make ``chdir`` absolute and check that it exists (in place)."""
    chdir = values.get("chdir")
    if chdir is None:
        return
    path = os.path.normpath(os.path.join(cwd, os.path.expanduser(chdir)))
    if not os.path.isdir(path):
        raise ValueError(f"{describe}: expected an existing directory, got {chdir!r}")
    values["chdir"] = path


@dataclass
class Resolved:
    values: dict[str, Any]
    sources: dict[str, str]
    warnings: list[str]
    config_file: str | None
    app: str | None
    cwd: str


def resolve(argv: Sequence[str], environ: Mapping[str, str], cwd: str) -> Resolved:
    """Gather every layer and merge them by precedence."""
    command_line = parse_args(argv)
    corral_env = parse_env_args(CORRAL_ENV, environ)
    gunicorn_env = parse_env_args(GUNICORN_ENV, environ)

    config_spec = None
    for layer in (command_line, corral_env, gunicorn_env):
        if layer.values.get("config") is not None:
            config_spec = layer.values["config"]
            break
    config = load_config_file(config_spec, cwd)

    values = default_values(environ)
    sources = dict.fromkeys(values, DEFAULT)
    flags: dict[str, str] = {}
    layers: list[tuple[str, dict[str, Any], dict[str, str]]] = []
    if config is not None:
        layers.append((CONFIG_FILE, config.values, {}))
    layers.append((GUNICORN_ENV, gunicorn_env.values, gunicorn_env.flags))
    layers.append((CORRAL_ENV, corral_env.values, corral_env.flags))
    layers.append((COMMAND_LINE, command_line.values, command_line.flags))
    for label, layer_values, layer_flags in layers:
        for name, value in layer_values.items():
            values[name] = value
            sources[name] = label
            if name in layer_flags:
                flags[name] = layer_flags[name]

    if values.get("chdir") is not None:
        label = sources["chdir"]
        try:
            resolve_paths(values, cwd, "chdir")
        except ValueError as exc:
            reason = str(exc).removeprefix("chdir: ")
            if label == CONFIG_FILE and config is not None:
                raise ConfigError(f"{config.display}: setting 'chdir': {reason}")
            where = flags.get("chdir", "--chdir")
            prefix = "" if label == COMMAND_LINE else f"{label}: "
            raise UsageError(f"{prefix}{where}: {reason}")

    warnings = [
        *(config.warnings if config is not None else []),
        *gunicorn_env.warnings,
        *corral_env.warnings,
        *command_line.warnings,
    ]
    return Resolved(
        values=values,
        sources=sources,
        warnings=warnings,
        config_file=config.path if config is not None else None,
        app=command_line.app[0] if command_line.app else None,
        cwd=cwd,
    )
