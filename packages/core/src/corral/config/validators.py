"""Converters and validators for setting values.

Each validator takes a raw value, either a string from the command line / an environment
variable, or any Python object from a config file, and returns the normalised value. On bad
input it raises :class:`ValueError` whose message is one short line of the form
``"expected <what>, got <value>"``; the caller prefixes it with the flag or setting name.

Factories (``integer(...)``, ``choice(...)``, ``hook(...)``...) return validators so that the
settings table can describe each setting's type as data.
"""

from __future__ import annotations

import inspect
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Validator = Callable[[object], Any]

DEFAULT_PORT = 8000
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$"
)
_ENV_KEY_RE = re.compile(r"^[^=\x00]+$")


def _got(value: object) -> str:
    """Render a rejected value for an error message (strings are quoted)."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return text


def _as_text(value: object, expected: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected {expected}, got {_got(value)}")
    return value.strip()


# ---------------------------------------------------------------------------------------------
# Scalars


def integer(minimum: int = 0, maximum: int | None = None, note: str = "") -> Validator:
    """An integer in ``[minimum, maximum]``; accepts ints or decimal strings (not booleans)."""
    if maximum is None:
        expected = f"an integer >= {minimum}"
    else:
        expected = f"an integer from {minimum} to {maximum}"
    if note:
        expected = f"{expected} ({note})"

    def validate_integer(value: object) -> int:
        if isinstance(value, bool):
            raise ValueError(f"expected {expected}, got {_got(value)}")
        if isinstance(value, int):
            number = value
        elif isinstance(value, str):
            text = value.strip()
            if not re.fullmatch(r"[+-]?\d+", text):
                raise ValueError(f"expected {expected}, got {_got(value)}")
            number = int(text, 10)
        else:
            raise ValueError(f"expected {expected}, got {_got(value)}")
        if number < minimum or (maximum is not None and number > maximum):
            raise ValueError(f"expected {expected}, got {_got(value)}")
        return number

    return validate_integer


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def boolean(value: object) -> bool:
    """``True``/``False``, or one of the strings true/false, yes/no, on/off, 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValueError(f"expected true or false, got {_got(value)}")


def string(value: object) -> str:
    """A non-empty string (surrounding whitespace removed)."""
    text = _as_text(value, "a non-empty string")
    if not text:
        raise ValueError(f"expected a non-empty string, got {_got(value)}")
    return text


def optional_string(value: object) -> str | None:
    """``None`` or a non-empty string."""
    if value is None:
        return None
    return string(value)


def raw_string(value: object) -> str:
    """Any string, kept exactly as given (for formats where spaces matter)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_got(value)}")
    return value


def ascii_string(value: object) -> str:
    """A string of printable ASCII only (a statsd datagram's names and tags)."""
    text = raw_string(value)
    if not (text.isascii() and text.isprintable()):
        raise ValueError(f"expected printable ASCII characters only, got {text!r}")
    return text


def choice(choices: Sequence[str]) -> Validator:
    """One of ``choices``, compared case-insensitively; returns the canonical spelling."""
    canonical = {c.lower(): c for c in choices}
    expected = "one of " + ", ".join(choices)

    def validate_choice(value: object) -> str:
        if isinstance(value, str) and value.strip().lower() in canonical:
            return canonical[value.strip().lower()]
        raise ValueError(f"expected {expected}, got {_got(value)}")

    return validate_choice


# Gunicorn's egg:DIST#NAME: a distribution name (PEP 508), then an entry point name.
_EGG = re.compile(r"egg:[A-Za-z0-9][A-Za-z0-9._-]*(#[\w.-]+)?")


def worker_class(value: object) -> str | type:
    """A worker name, ``package.module.Class``, ``package.module:Class`` or
    ``egg:DIST#NAME`` (string), or a worker class given in a config file."""
    if inspect.isclass(value):
        return value
    if isinstance(value, str) and _EGG.fullmatch(value.strip()):
        return value.strip()
    return _as_identifier_path(value, "a worker class name, dotted path or egg:DIST#NAME")


def logger_class(value: object) -> str | type:
    """A dotted path to a logger class (string), or the class itself in a config file."""
    if inspect.isclass(value):
        return value
    return _as_identifier_path(value, "a logger class path package.module.Class")


def dictionary(value: object) -> dict[str, Any]:
    """A dict (config file only); ``None`` counts as an empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"expected a dict, got {_got(value)}")
    return dict(value)


def _as_identifier_path(value: object, expected: str) -> str:
    text = _as_text(value, expected)
    if not re.fullmatch(r"[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?", text):
        raise ValueError(f"expected {expected}, got {_got(value)}")
    return text


def app_uri(value: object) -> str | None:
    """``None`` or an application path ``MODULE`` or ``MODULE:VARIABLE``."""
    if value is None:
        return None
    text = _as_text(value, "an application path MODULE:VARIABLE")
    module, _, attr = text.partition(":")
    if (
        not module
        or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", module)
        or (_ and not attr)
    ):
        raise ValueError(f"expected an application path MODULE:VARIABLE, got {_got(value)}")
    return text


# ---------------------------------------------------------------------------------------------
# Lists


def _as_list(value: object, expected: str) -> list[object]:
    """Config files may give a single string where a list is expected (Gunicorn allows it)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError(f"expected {expected}, got {_got(value)}")


def string_list(value: object) -> list[str]:
    """A list of non-empty strings (a single string counts as a one-item list)."""
    if value is None:
        return []
    return [string(item) for item in _as_list(value, "a list of strings")]


def comma_list(value: object) -> list[str]:
    """Comma-separated string (``'a,b'``) or a list of strings; empty items are dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return string_list(value)


def env_pairs(value: object) -> list[str]:
    """A list of ``KEY=VALUE`` strings (the value may be empty, the key may not)."""
    if value is None:
        return []
    result = []
    for item in _as_list(value, "a list of KEY=VALUE strings"):
        if not isinstance(item, str):
            raise ValueError(f"expected KEY=VALUE, got {_got(item)}")
        key, sep, _ = item.partition("=")
        if not sep or not key.strip() or not _ENV_KEY_RE.match(key):
            raise ValueError(f"expected KEY=VALUE, got {_got(item)}")
        result.append(item)
    return result


# ---------------------------------------------------------------------------------------------
# Addresses


@dataclass(frozen=True)
class Address:
    """A parsed ``bind`` address.

    ``kind`` is ``"tcp"`` (``host``/``port`` set; ``host`` has no brackets and may be ``""``
    for all interfaces), ``"unix"`` (``path`` set) or ``"fd"`` (``fd`` set).
    """

    kind: Literal["tcp", "unix", "fd"]
    host: str = ""
    port: int = 0
    path: str = ""
    fd: int = -1


_ADDRESS_FORMS = "HOST:PORT, [IPv6]:PORT, HOST, unix:PATH or fd://N"


def _port(text: str, original: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise ValueError(f"expected a port number from 0 to 65535, got {_got(original)}")
    return int(text)


def _valid_host(host: str) -> bool:
    if not host:
        return True  # ":8000" means all interfaces
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME_RE.match(host)) and not host.replace(".", "").isdigit()


def parse_address(value: str, default_port: int = DEFAULT_PORT) -> Address:
    """Parse one bind address; raises ValueError with a one-line reason if malformed."""
    text = value.strip()
    bad = ValueError(f"expected an address like {_ADDRESS_FORMS}, got {_got(value)}")
    if text.startswith("unix:"):
        path = text[len("unix://") :] if text.startswith("unix://") else text[len("unix:") :]
        if not path:
            raise bad
        return Address("unix", path=path)
    if text.startswith("fd://"):
        number = text[len("fd://") :]
        if not number.isdigit():
            raise ValueError(f"expected fd://N with N a file descriptor number, got {_got(value)}")
        return Address("fd", fd=int(number))
    if text.startswith("tcp://"):
        text = text[len("tcp://") :]
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise bad
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise bad
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"expected a valid IPv6 address in brackets, got {_got(value)}")
        if not rest:
            return Address("tcp", host=host, port=default_port)
        if not rest.startswith(":"):
            raise bad
        return Address("tcp", host=host, port=_port(rest[1:], value))
    if text.count(":") > 1:
        # A bare IPv6 address without brackets (and so without a port).
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            raise bad
        return Address("tcp", host=text, port=default_port)
    host, sep, port_text = text.partition(":")
    if not _valid_host(host) or (not sep and not host):
        raise bad
    port = _port(port_text, value) if sep else default_port
    return Address("tcp", host=host, port=port)


def bind_addresses(value: object) -> list[str]:
    """A non-empty list of bind addresses, each checked by :func:`parse_address`."""
    items = _as_list(value, "a list of addresses")
    if not items:
        raise ValueError(f"expected at least one address, got {_got(value)}")
    result = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"expected an address like {_ADDRESS_FORMS}, got {_got(item)}")
        parse_address(item)
        result.append(item.strip())
    return result


STATSD_PORT = 8125
_STATSD_FORMS = "HOST:PORT, HOST (port 8125), [IPv6]:PORT or unix:PATH"


def statsd_target(value: str) -> Address:
    """Where ``--statsd-host`` sends: a UDP ``tcp``-kind address (host, port) or a unix
    datagram socket path. Gunicorn's forms: ``HOST:PORT`` (``HOST`` alone: port 8125),
    ``unix:PATH`` or ``unix://PATH``, and ``unix:8125`` meaning the host named ``unix``."""
    text = value.strip()
    if text.startswith("unix:") and text[5:].isdigit():
        return Address("tcp", host="unix", port=_port(text[5:], value))
    address = parse_address(text, default_port=STATSD_PORT)
    if address.kind == "fd" or (address.kind == "tcp" and not address.host):
        raise ValueError(f"expected an address like {_STATSD_FORMS}, got {_got(value)}")
    return address


def statsd_address(value: object) -> str | None:
    """``None`` or a ``--statsd-host`` address, checked by :func:`statsd_target`."""
    if value is None:
        return None
    text = _as_text(value, f"an address like {_STATSD_FORMS}")
    statsd_target(text)
    return text


def listen_address(value: object) -> str | None:
    """``None`` or one address to listen on, as ``--bind`` takes it (no ``fd://``)."""
    if value is None:
        return None
    text = _as_text(value, f"an address like {_ADDRESS_FORMS}")
    if parse_address(text).kind == "fd":
        raise ValueError(f"expected HOST:PORT or unix:PATH, got {_got(value)}")
    return text


def ip_networks(value: object) -> list[str]:
    """``'*'`` or IP addresses / CIDR networks, comma-separated or as a list.

    Returns the normalised strings (``'*'`` kept as is). Ready for settings such as
    ``forwarded_allow_ips``.
    """
    items = comma_list(value)
    result = []
    for item in items:
        if item == "*":
            result.append(item)
            continue
        try:
            result.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"expected '*' or IP addresses / CIDR networks, got {_got(item)}")
    return result


# ---------------------------------------------------------------------------------------------
# Hooks


def describe_callable(obj: object) -> str:
    """``module.qualname`` of a function or class, else its repr."""
    target = getattr(obj, "__wrapped_hook__", obj)
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    if isinstance(qualname, str):
        return f"{module}.{qualname}" if module else qualname
    return repr(target)


def _accepts_positional(func: Callable[..., object], count: int) -> bool:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return True  # builtins without a signature: give them the benefit of the doubt
    try:
        signature.bind(*([None] * count))
    except TypeError:
        return False
    return True


def _signature_text(func: Callable[..., object]) -> str:
    """``name(a, b, *args)``: the parameters without annotations or defaults."""
    name = getattr(func, "__name__", type(func).__name__)
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return name
    shown = []
    for p in parameters:
        if p.kind is p.VAR_POSITIONAL:
            shown.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            shown.append(f"**{p.name}")
        else:
            shown.append(p.name)
    return f"{name}({', '.join(shown)})"


def hook(args: Sequence[str]) -> Validator:
    """A callable that can be called with ``len(args)`` positional arguments."""
    count = len(args)
    plural = "s" if count != 1 else ""
    expected = f"a callable taking {count} positional argument{plural} ({', '.join(args)})"

    def validate_hook(value: object) -> Callable[..., object]:
        if not callable(value):
            raise ValueError(f"expected {expected}, got {_got(value)}")
        if not _accepts_positional(value, count):
            raise ValueError(f"expected {expected}, got {_signature_text(value)}")
        return value

    return validate_hook


class PostRequestHook:
    """Adapts a ``post_request`` hook taking 2 or 3 arguments to the 4-argument call.

    Gunicorn accepts ``post_request(worker, req)``, ``(worker, req, environ)`` and
    ``(worker, req, environ, resp)``; corral always calls it with four arguments.
    """

    __slots__ = ("__wrapped_hook__", "_count")

    def __init__(self, func: Callable[..., object], count: int) -> None:
        self.__wrapped_hook__ = func
        self._count = count

    def __call__(self, worker: object, req: object, environ: object, resp: object) -> object:
        return self.__wrapped_hook__(*(worker, req, environ, resp)[: self._count])

    def __repr__(self) -> str:
        return f"<post_request hook {describe_callable(self)}>"


def post_request_hook(value: object) -> Callable[..., object]:
    """A callable taking 4 (or, as Gunicorn allows, 2 or 3) positional arguments."""
    expected = "a callable taking 2 to 4 positional arguments (worker, req, environ, resp)"
    if isinstance(value, PostRequestHook):
        return value
    if not callable(value):
        raise ValueError(f"expected {expected}, got {_got(value)}")
    if _accepts_positional(value, 4):
        return value
    for count in (3, 2):
        if _accepts_positional(value, count):
            return PostRequestHook(value, count)
    raise ValueError(f"expected {expected}, got {_signature_text(value)}")


def proxy_protocol_mode(value: object) -> str:
    """``off``, ``v1``, ``v2`` or ``auto``; a config file's ``True`` / ``False`` mean auto / off
    (Gunicorn's older boolean form)."""
    if value is True:
        return "auto"
    if value is False or value is None:
        return "off"
    if isinstance(value, str) and value.strip().lower() in ("off", "v1", "v2", "auto"):
        return value.strip().lower()
    raise ValueError(f"expected one of off, v1, v2, auto, got {_got(value)}")


def _identity(value: object, kind: str, lookup: Callable[[str], int]) -> int | None:
    """A name or a numeric id that this machine knows; the id (None: unchanged)."""
    if value is None:
        return None
    text = _as_text(value, f"a {kind} name or id").strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    try:
        return lookup(text)
    except KeyError:
        raise ValueError(f"no such {kind} {text!r} on this machine") from None


def user(value: object) -> int | None:
    """A user name or uid (``--user``)."""
    import pwd

    return _identity(value, "user", lambda name: pwd.getpwnam(name).pw_uid)


def group(value: object) -> int | None:
    """A group name or gid (``--group``)."""
    import grp

    return _identity(value, "group", lambda name: grp.getgrnam(name).gr_gid)


def umask(value: object) -> int | None:
    """A umask: an int, or a string in octal (``"0o22"``, ``"022"``) or hex (``"0x12"``),
    as Gunicorn accepts; None: the umask corral was started with."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = _as_text(value, "a umask").strip().lower()
        try:
            if text.startswith("0x"):
                number = int(text, 16)
            elif text.startswith("0o"):
                number = int(text[2:], 8)
            elif text.startswith("0") and len(text) > 1:
                number = int(text, 8)
            else:
                number = int(text, 10)
        except ValueError:
            raise ValueError(f"expected a umask such as 0o22, got {_got(value)}") from None
    if not 0 <= number <= 0o777:
        raise ValueError(f"expected a umask from 0 to 0o777, got {_got(value)}")
    return number
