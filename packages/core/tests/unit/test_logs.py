"""Tests for corral.logs: access log format language, error log, files, rotation."""

from __future__ import annotations

import base64
import calendar
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from corral import logconfig, syslog
from corral.errors import ConfigError
from corral.logs import (
    DEFAULT_ACCESS_LOG_FORMAT,
    AccessRecord,
    Logs,
    load_logger_class,
    validate_access_log_format,
)

# 2000-10-10 13:55:36 at UTC-07:00, i.e. 20:55:36 UTC.
START = float(calendar.timegm((2000, 10, 10, 20, 55, 36, 0, 0, 0)))


def make_record(**overrides: Any) -> AccessRecord:
    fields: dict[str, Any] = {
        "remote_addr": "192.0.2.7",
        "remote_port": 51234,
        "method": "GET",
        "path": "/apache_pb.gif",
        "query": "x=1&y=2",
        "protocol": "HTTP/1.1",
        "status": 200,
        "status_text": "200 OK",
        "response_length": 2326,
        "request_headers": [
            ("Host", "example.com"),
            ("User-Agent", "Mozilla/4.08 [en] (Win98; I ;Nav)"),
            ("Referer", "http://www.example.com/start.html"),
            ("X-Request-Id", "abc-123"),
        ],
        "response_headers": [
            ("Content-Type", "image/gif"),
            ("Content-Length", "2326"),
        ],
        "environ": {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/app", "wsgi.url_scheme": "http"},
        "request_time": 1.234567,
        "start_time": START + 0.75,
        "pid": 4242,
    }
    fields.update(overrides)
    return AccessRecord(**fields)


@pytest.fixture
def tz_minus_7() -> Iterator[None]:
    """Run with the process's local time zone set to UTC-07:00 (a POSIX TZ rule)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "XST+07"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.fixture
def make_logs() -> Iterator[Any]:
    created: list[Logs] = []

    def factory(**kwargs: Any) -> Logs:
        logs = Logs(**kwargs)
        created.append(logs)
        return logs

    yield factory
    for logs in created:
        logs.close()


def render(tmp_path: Path, fmt: str, rec: AccessRecord | None = None) -> str:
    """Write one access line with ``fmt`` to a real file and return it (without newline)."""
    path = tmp_path / "access.log"
    path.unlink(missing_ok=True)
    logs = Logs(errorlog=None, accesslog=str(path), access_log_format=fmt)
    try:
        logs.access(rec if rec is not None else make_record())
    finally:
        logs.close()
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert text.count("\n") == 1
    return text[:-1]


# ---------------------------------------------------------------------------------------
# Atoms
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("%(h)s", "192.0.2.7"),
        ("%(l)s", "-"),
        ("%(u)s", "-"),
        ("%(r)s", "GET /apache_pb.gif?x=1&y=2 HTTP/1.1"),
        ("%(m)s", "GET"),
        ("%(U)s", "/apache_pb.gif"),
        ("%(q)s", "x=1&y=2"),
        ("%(H)s", "HTTP/1.1"),
        ("%(s)s", "200"),
        ("%(B)s", "2326"),
        ("%(b)s", "2326"),
        ("%(f)s", "http://www.example.com/start.html"),
        ("%(a)s", "Mozilla/4.08 [en] (Win98; I ;Nav)"),
        ("%(T)s", "1"),
        ("%(D)s", "1234567"),
        ("%(M)s", "1234"),
        ("%(L)s", "1.234567"),
        ("%(p)s", "<4242>"),
    ],
)
def test_each_simple_atom(tmp_path: Path, fmt: str, expected: str) -> None:
    assert render(tmp_path, fmt) == expected


def test_time_atom_is_local_time_with_offset(tmp_path: Path, tz_minus_7: None) -> None:
    assert render(tmp_path, "%(t)s") == "[10/Oct/2000:13:55:36 -0700]"


def test_time_atom_follows_start_time_not_cached_stale(tmp_path: Path, tz_minus_7: None) -> None:
    path = tmp_path / "a.log"
    logs = Logs(errorlog=None, accesslog=str(path), access_log_format="%(t)s")
    try:
        logs.access(make_record(start_time=START))
        logs.access(make_record(start_time=START + 0.5))
        logs.access(make_record(start_time=START + 61))
    finally:
        logs.close()
    assert path.read_text().splitlines() == [
        "[10/Oct/2000:13:55:36 -0700]",
        "[10/Oct/2000:13:55:36 -0700]",
        "[10/Oct/2000:13:56:37 -0700]",
    ]


def test_time_atom_positive_offset(tmp_path: Path) -> None:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "YST-05:30"  # POSIX sign is inverted: this is UTC+05:30
    time.tzset()
    try:
        assert render(tmp_path, "%(t)s") == "[11/Oct/2000:02:25:36 +0530]"
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_request_line_without_query_has_no_question_mark(tmp_path: Path) -> None:
    rec = make_record(query="", method="POST", path="/submit", protocol="HTTP/1.0")
    assert render(tmp_path, "%(r)s|%(q)s|%(U)s", rec) == "POST /submit HTTP/1.0||/submit"


def test_empty_body_length_is_zero_as_in_gunicorn(tmp_path: Path) -> None:
    rec = make_record(response_length=0, status=204)
    assert render(tmp_path, "%(b)s %(B)s %(s)s", rec) == "0 0 204"


@pytest.mark.parametrize(
    ("request_time", "expected"),
    [
        (0.0, "0 0 0 0.000000"),
        (0.000_001, "0 1 0 0.000001"),
        (0.999_999_6, "1 1000000 1000 1.000000"),  # rounds to the nearest microsecond
        (61.5, "61 61500000 61500 61.500000"),
        (-0.5, "0 0 0 0.000000"),  # a clock step backwards never shows a negative time
    ],
)
def test_duration_atoms(tmp_path: Path, request_time: float, expected: str) -> None:
    rec = make_record(request_time=request_time)
    assert render(tmp_path, "%(T)s %(D)s %(M)s %(L)s", rec) == expected


def test_user_from_record(tmp_path: Path) -> None:
    assert render(tmp_path, "%(u)s", make_record(user="alice")) == "alice"


def test_user_from_basic_auth_header(tmp_path: Path) -> None:
    token = base64.b64encode(b"bob:s3cret").decode()
    headers = [("authorization", f"Basic {token}")]
    assert render(tmp_path, "%(u)s", make_record(request_headers=headers)) == "bob"


@pytest.mark.parametrize(
    "value",
    ["Bearer abc.def", "Basic !!!notbase64", "Basic " + base64.b64encode(b"nocolon").decode()],
)
def test_user_unusable_authorization_is_dash(tmp_path: Path, value: str) -> None:
    rec = make_record(request_headers=[("Authorization", value)])
    assert render(tmp_path, "%(u)s", rec) == "-"


def test_empty_remote_addr_is_dash(tmp_path: Path) -> None:
    assert render(tmp_path, "%(h)s", make_record(remote_addr="")) == "-"


def test_missing_referer_and_user_agent_are_dashes(tmp_path: Path) -> None:
    rec = make_record(request_headers=[("Host", "x")])
    assert render(tmp_path, '"%(f)s" "%(a)s"', rec) == '"-" "-"'


def test_request_header_atoms_case_insensitive(tmp_path: Path) -> None:
    fmt = "%({x-request-id}i)s %({X-REQUEST-ID}i)s %({host}i)s %({x-missing}i)s"
    assert render(tmp_path, fmt) == "abc-123 abc-123 example.com -"


def test_request_header_first_occurrence_wins(tmp_path: Path) -> None:
    rec = make_record(request_headers=[("X-A", "one"), ("x-a", "two")])
    assert render(tmp_path, "%({x-a}i)s", rec) == "one"


def test_response_header_atoms(tmp_path: Path) -> None:
    fmt = "%({content-type}o)s %({Content-Length}o)s %({x-missing}o)s %({host}o)s"
    assert render(tmp_path, fmt) == "image/gif 2326 - -"


def test_environ_atoms(tmp_path: Path) -> None:
    fmt = "%({SCRIPT_NAME}e)s %({script_name}e)s %({wsgi.url_scheme}e)s %({NOPE}e)s"
    assert render(tmp_path, fmt) == "/app /app http -"


def test_environ_atom_non_string_value(tmp_path: Path) -> None:
    rec = make_record(environ={"wsgi.multithread": False, "COUNT": 3})
    assert render(tmp_path, "%({wsgi.multithread}e)s %({COUNT}e)s", rec) == "False 3"


def test_environ_atom_without_environ(tmp_path: Path) -> None:
    assert render(tmp_path, "%({SCRIPT_NAME}e)s", make_record(environ=None)) == "-"


@pytest.mark.parametrize("fmt", ["%(zz)s", "%(x)s", "%({}i)s", "%({a}z)s", "%()s", "%(hh)s"])
def test_unknown_atoms_render_dash(tmp_path: Path, fmt: str) -> None:
    assert render(tmp_path, fmt) == "-"


def test_literal_text_percent_and_printf_flags(tmp_path: Path) -> None:
    fmt = "100%% [%(s)05d] [%(m)-5s] [%(B)x] [%(h)r] [%(D).2e]"
    assert render(tmp_path, fmt) == "100% [00200] [GET  ] [916] ['192.0.2.7'] [1.23e+06]"


def test_atom_used_twice_and_tab_separator(tmp_path: Path) -> None:
    assert render(tmp_path, "%(s)s\t%(s)d\t%(m)s") == "200\t200\tGET"


def test_format_without_atoms(tmp_path: Path) -> None:
    assert render(tmp_path, "ping") == "ping"


# ---------------------------------------------------------------------------------------
# Escaping: a client must not be able to forge log lines
# ---------------------------------------------------------------------------------------


def test_control_characters_in_headers_are_escaped(tmp_path: Path) -> None:
    evil = 'x"\r\n127.0.0.1 - - [01/Jan/2000:00:00:00 +0000] "GET /admin HTTP/1.1" 200 1'
    rec = make_record(request_headers=[("User-Agent", evil), ("X-Y", "a\x00b\x1bc\x7fd\x85e")])
    line = render(tmp_path, '"%(a)s" %({x-y}i)s', rec)
    assert line == (
        '"x\\"\\x0d\\x0a127.0.0.1 - - [01/Jan/2000:00:00:00 +0000] '
        '\\"GET /admin HTTP/1.1\\" 200 1" a\\x00b\\x1bc\\x7fd\\x85e'
    )


def test_request_line_path_and_method_are_escaped(tmp_path: Path) -> None:
    rec = make_record(method="GE\nT", path="/a\nb\\c", query="q=\r", protocol="HTTP/1.1\x0b")
    line = render(tmp_path, "%(r)s|%(m)s|%(U)s|%(q)s|%(H)s", rec)
    assert line == (
        "GE\\x0aT /a\\x0ab\\\\c?q=\\x0d HTTP/1.1\\x0b|GE\\x0aT|/a\\x0ab\\\\c|q=\\x0d|HTTP/1.1\\x0b"
    )


def test_unicode_line_separators_escaped_and_other_text_kept(tmp_path: Path) -> None:
    rec = make_record(request_headers=[("Referer", "caf\u00e9\u2028x\u2029y")])
    assert render(tmp_path, "%(f)s", rec) == "caf\u00e9\\u2028x\\u2029y"


def test_user_and_remote_and_env_and_response_values_are_escaped(tmp_path: Path) -> None:
    rec = make_record(
        user="ev\nil",
        remote_addr="1.2.3.4\n",
        environ={"X": "a\nb"},
        response_headers=[("X-Echo", "c\rd")],
    )
    assert render(tmp_path, "%(u)s %(h)s %({X}e)s %({x-echo}o)s", rec) == (
        "ev\\x0ail 1.2.3.4\\x0a a\\x0ab c\\x0dd"
    )


def test_lone_surrogates_do_not_break_writing(tmp_path: Path) -> None:
    rec = make_record(path="/\udcff")  # what surrogateescape decoding can produce
    assert render(tmp_path, "%(U)s", rec) == "/\\udcff"


# ---------------------------------------------------------------------------------------
# Default format
# ---------------------------------------------------------------------------------------


def test_default_format_is_gunicorns() -> None:
    assert DEFAULT_ACCESS_LOG_FORMAT == (
        '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
    )


def test_default_format_realistic_record(tmp_path: Path, tz_minus_7: None) -> None:
    token = base64.b64encode(b"frank:pw").decode()
    headers = [*make_record().request_headers, ("Authorization", f"Basic {token}")]
    rec = make_record(request_headers=headers)
    assert render(tmp_path, DEFAULT_ACCESS_LOG_FORMAT, rec) == (
        '192.0.2.7 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1&y=2 HTTP/1.1" '
        '200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'
    )


def test_default_format_is_used_when_not_given(tmp_path: Path, tz_minus_7: None) -> None:
    path = tmp_path / "a.log"
    logs = Logs(errorlog=None, accesslog=str(path))
    try:
        logs.access(make_record(request_headers=[], response_length=0, status=304))
    finally:
        logs.close()
    assert path.read_text() == (
        '192.0.2.7 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1&y=2 HTTP/1.1" '
        '304 0 "-" "-"\n'
    )


# ---------------------------------------------------------------------------------------
# Format validation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "fragment"),
    [
        ("%(h", "malformed atom"),
        ("%(h)", "malformed atom"),
        ("%(h)1", "malformed atom"),
        ("%s %s", "stray '%'"),
        ("100%", "stray '%'"),
        ("%(h)s 50% off", "stray '%'"),
        ("%(h)d", "numeric conversion"),
        ("%({user-agent}i)x", "numeric conversion"),
        ("%(zz)d", "numeric conversion"),
        ("%(h)z", "unsupported conversion"),
        ("%(s)c", "unsupported conversion"),
        ("%(h)99999999999s", "width above"),
        ("%(D).5000f", "precision above"),
        ("one\ntwo", "control character"),
        ("%(h)s\r", "control character"),
    ],
)
def test_bad_formats_rejected(tmp_path: Path, fmt: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_access_log_format(fmt)
    assert str(info.value).startswith("--access-logformat: ")
    assert fragment in str(info.value)
    # The same check runs when the logs are built, with or without an access log.
    with pytest.raises(ConfigError, match=r"^--access-logformat: "):
        Logs(errorlog=None, accesslog=str(tmp_path / "a.log"), access_log_format=fmt)
    with pytest.raises(ConfigError, match=r"^--access-logformat: "):
        Logs(errorlog=None, access_log_format=fmt)
    # A bad format must not have created the file.
    assert not (tmp_path / "a.log").exists()


def test_non_string_format_rejected() -> None:
    with pytest.raises(ConfigError, match="must be a string"):
        validate_access_log_format(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fmt",
    [
        "",
        "plain text",
        "%%",
        "%(zz)s",
        "%({x}i)s\t%(s)d",
        DEFAULT_ACCESS_LOG_FORMAT,
        '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(L)s %(p)s',
        "%(s)ld %(D)08.3f %(m)a",
    ],
)
def test_good_formats_accepted(fmt: str) -> None:
    validate_access_log_format(fmt)  # does not raise


# ---------------------------------------------------------------------------------------
# Outputs: streams, files, rotation, errors
# ---------------------------------------------------------------------------------------


def test_access_to_stdout(capfd: pytest.CaptureFixture[str], make_logs: Any) -> None:
    logs = make_logs(errorlog=None, accesslog="-", access_log_format="%(m)s %(s)s")
    assert logs.access_enabled
    logs.access(make_record())
    logs.access(make_record(method="HEAD", status=404))
    out, err = capfd.readouterr()
    assert out == "GET 200\nHEAD 404\n"
    assert err == ""


def test_access_disabled_writes_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], make_logs: Any
) -> None:
    logs = make_logs(errorlog="-", accesslog=None)
    assert not logs.access_enabled
    logs.access(make_record())
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""
    assert list(tmp_path.iterdir()) == []


def test_access_file_appends(tmp_path: Path, make_logs: Any) -> None:
    path = tmp_path / "access.log"
    path.write_text("existing line\n")
    logs = make_logs(errorlog=None, accesslog=str(path), access_log_format="%(U)s")
    logs.access(make_record(path="/one"))
    logs.access(make_record(path="/two"))
    assert path.read_text() == "existing line\n/one\n/two\n"


def test_access_reopen_after_rotation(tmp_path: Path, make_logs: Any) -> None:
    path = tmp_path / "access.log"
    rotated = tmp_path / "access.log.1"
    logs = make_logs(errorlog=None, accesslog=str(path), access_log_format="%(U)s")
    logs.access(make_record(path="/before"))
    path.rename(rotated)
    logs.access(make_record(path="/still-old"))  # until reopened, the old file gets lines
    logs.reopen()
    logs.access(make_record(path="/after"))
    assert rotated.read_text() == "/before\n/still-old\n"
    assert path.read_text() == "/after\n"


def test_error_log_reopen_after_rotation(tmp_path: Path, make_logs: Any) -> None:
    path = tmp_path / "error.log"
    rotated = tmp_path / "error.log.1"
    logs = make_logs(errorlog=str(path))
    logs.info("before")
    path.rename(rotated)
    logs.reopen()
    logs.info("after")
    assert rotated.read_text().endswith("[INFO] before\n")
    assert "after" not in rotated.read_text()
    assert path.read_text().endswith("[INFO] after\n")
    assert path.read_text().count("\n") == 1


def test_reopen_failure_keeps_old_file_and_reports(tmp_path: Path, make_logs: Any) -> None:
    logdir = tmp_path / "logs"
    logdir.mkdir()
    path = logdir / "access.log"
    errpath = tmp_path / "error.log"
    logs = make_logs(errorlog=str(errpath), accesslog=str(path), access_log_format="%(U)s")
    logs.access(make_record(path="/a"))
    moved = tmp_path / "moved"
    logdir.rename(moved)  # the directory is gone: reopening the path must fail
    logs.reopen()  # must not raise
    logs.access(make_record(path="/b"))
    assert (moved / "access.log").read_text() == "/a\n/b\n"
    assert f"cannot reopen access log file '{path}': No such file or directory" in (
        errpath.read_text()
    )


def test_error_log_line_format(tmp_path: Path, make_logs: Any) -> None:
    path = tmp_path / "error.log"
    logs = make_logs(errorlog=str(path))
    logs.info("Listening at: %s (%d)", "http://127.0.0.1:8000", 8000)
    line = path.read_text()
    match = re.fullmatch(
        r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4})\] \[(\d+)\] \[INFO\] "
        r"Listening at: http://127\.0\.0\.1:8000 \(8000\)\n",
        line,
    )
    assert match is not None, line
    assert int(match.group(2)) == os.getpid()
    stamp = time.mktime(time.strptime(match.group(1)[:19], "%Y-%m-%d %H:%M:%S"))
    assert abs(stamp - time.time()) < 120


def test_error_log_offset_follows_local_zone(
    tmp_path: Path, make_logs: Any, tz_minus_7: None
) -> None:
    path = tmp_path / "error.log"
    make_logs(errorlog=str(path)).warning("w")
    assert re.match(r"\[\S+ \S+ -0700\] \[\d+\] \[WARNING\] w\n", path.read_text())


def test_error_log_to_stderr(capfd: pytest.CaptureFixture[str], make_logs: Any) -> None:
    logs = make_logs()  # errorlog defaults to '-'
    logs.error("boom %s", 1)
    out, err = capfd.readouterr()
    assert out == ""
    assert re.fullmatch(r"\[[^\]]+\] \[\d+\] \[ERROR\] boom 1\n", err), err


@pytest.mark.parametrize(
    ("loglevel", "expected"),
    [
        ("debug", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "ERROR"]),
        ("info", ["INFO", "WARNING", "ERROR", "CRITICAL", "ERROR"]),
        ("WARNING", ["WARNING", "ERROR", "CRITICAL", "ERROR"]),
        ("error", ["ERROR", "CRITICAL", "ERROR"]),
        ("critical", ["CRITICAL"]),
    ],
)
def test_level_filtering(
    tmp_path: Path, make_logs: Any, loglevel: str, expected: list[str]
) -> None:
    path = tmp_path / "error.log"
    logs = make_logs(loglevel=loglevel, errorlog=str(path))
    logs.debug("m")
    logs.info("m")
    logs.warning("m")
    logs.error("m")
    logs.critical("m")
    try:
        raise ValueError("inner")
    except ValueError:
        logs.exception("m")
    levels = re.findall(r"^\[[^\]]+\] \[\d+\] \[([A-Z]+)\] m$", path.read_text(), re.M)
    assert levels == expected


def test_exception_includes_traceback(tmp_path: Path, make_logs: Any) -> None:
    path = tmp_path / "error.log"
    logs = make_logs(errorlog=str(path))
    try:
        raise RuntimeError("kaput")
    except RuntimeError:
        logs.exception("Error handling request %s", "/x")
    text = path.read_text()
    assert "[ERROR] Error handling request /x\nTraceback (most recent call last):" in text
    assert text.endswith("RuntimeError: kaput\n")


def test_invalid_level_rejected() -> None:
    with pytest.raises(ConfigError, match="--log-level: invalid level 'loud'"):
        Logs(loglevel="loud")


def test_error_logger_identity(tmp_path: Path, make_logs: Any) -> None:
    logs = make_logs(loglevel="warning", errorlog=str(tmp_path / "e.log"))
    logger = logs.error_logger
    assert isinstance(logger, logging.Logger)
    assert logger.name == "corral.error"
    assert logger.propagate is False
    assert logger.level == logging.WARNING


def test_error_log_does_not_reach_root_logger(
    tmp_path: Path, make_logs: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    root_file = tmp_path / "root.log"
    root_handler = logging.FileHandler(root_file)
    root = logging.getLogger()
    root.addHandler(root_handler)
    try:
        make_logs(errorlog=str(tmp_path / "e.log")).error("only mine")
    finally:
        root.removeHandler(root_handler)
        root_handler.close()
    assert root_file.read_text() == ""
    assert "only mine" in (tmp_path / "e.log").read_text()


def test_errorlog_none_writes_nowhere(
    tmp_path: Path, make_logs: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    logs = make_logs(errorlog=None)
    logs.critical("nobody hears this")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_newer_logs_replaces_older_output(tmp_path: Path, make_logs: Any) -> None:
    first = tmp_path / "first.log"
    second = tmp_path / "second.log"
    make_logs(errorlog=str(first))
    logs = make_logs(errorlog=str(second))
    logs.info("hello")
    assert first.read_text() == ""
    assert second.read_text().endswith("[INFO] hello\n")


def test_unopenable_access_log_path(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "access.log"
    with pytest.raises(ConfigError) as info:
        Logs(errorlog=None, accesslog=str(target))
    assert str(info.value) == f"cannot open access log file '{target}': No such file or directory"


def test_unopenable_error_log_path(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "error.log"
    with pytest.raises(ConfigError) as info:
        Logs(errorlog=str(target))
    assert str(info.value) == f"cannot open error log file '{target}': No such file or directory"


def test_access_log_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Logs(errorlog=None, accesslog=str(tmp_path))
    assert str(info.value) == f"cannot open access log file '{tmp_path}': Is a directory"


def test_unopenable_path_permission_denied(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    target = str(locked / "access.log")
    try:
        if os.geteuid() != 0:
            with pytest.raises(ConfigError) as info:
                Logs(errorlog=None, accesslog=target)
            message = str(info.value)
        else:
            # Root ignores file modes; run the check without the capabilities that let it.
            drop = "-dac_override,-dac_read_search"
            code = (
                "from corral.logs import Logs\n"
                "from corral.errors import ConfigError\n"
                "try:\n"
                f"    Logs(errorlog=None, accesslog={target!r})\n"
                "except ConfigError as exc:\n"
                "    print(exc)\n"
            )
            result = subprocess.run(
                [
                    "setpriv",
                    f"--inh-caps={drop}",
                    f"--bounding-set={drop}",
                    sys.executable,
                    "-c",
                    code,
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            message = result.stdout.strip()
    finally:
        locked.chmod(0o700)
    assert message == f"cannot open access log file '{target}': Permission denied"


def test_close_stops_output(tmp_path: Path) -> None:
    access = tmp_path / "a.log"
    error = tmp_path / "e.log"
    logs = Logs(errorlog=str(error), accesslog=str(access), access_log_format="%(U)s")
    logs.access(make_record(path="/open"))
    logs.info("open")
    logs.close()
    assert not logs.access_enabled
    logs.access(make_record(path="/closed"))
    logs.info("closed")
    logs.close()  # idempotent
    assert access.read_text() == "/open\n"
    assert "closed" not in error.read_text()


def test_broken_record_does_not_raise(tmp_path: Path, make_logs: Any) -> None:
    access = tmp_path / "a.log"
    error = tmp_path / "e.log"
    logs = make_logs(errorlog=str(error), accesslog=str(access), access_log_format="%(m)s")
    logs.access(make_record(method=None))  # a caller bug, not the client's doing
    logs.access(make_record())
    assert access.read_text() == "GET\n"
    assert "[ERROR] cannot format access log line" in error.read_text()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_workers_write_whole_lines(tmp_path: Path) -> None:
    """Lines from several processes sharing one Logs never interleave."""
    path = tmp_path / "access.log"
    workers, per_worker = 4, 300
    logs = Logs(errorlog=None, accesslog=str(path), access_log_format="%(p)s %({x-pad}i)s END")
    pad = "x" * 3000
    pids = []
    try:
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:  # child
                code = 0
                try:
                    rec = make_record(pid=os.getpid(), request_headers=[("X-Pad", pad)])
                    for _ in range(per_worker):
                        logs.access(rec)
                except BaseException:
                    code = 1
                finally:
                    os._exit(code)
            pids.append(pid)
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
    finally:
        logs.close()
    lines = path.read_text().split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == workers * per_worker
    counts: dict[str, int] = {}
    for line in lines:
        match = re.fullmatch(r"<(\d+)> (x+) END", line)
        assert match is not None and len(match.group(2)) == 3000, line[:80]
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    assert sorted(counts) == sorted(str(p) for p in pids)
    assert set(counts.values()) == {per_worker}


def test_replaced_stdout_without_descriptor(tmp_path: Path, make_logs: Any) -> None:
    """A stdout replaced by an object with no file descriptor still gets whole lines."""
    path = tmp_path / "out.txt"
    saved = sys.stdout
    with open(path, "w", encoding="utf-8") as real:

        class NoFileno:  # a real stream wrapper, as an embedding application might install
            def write(self, s: str) -> int:
                return real.write(s)

            def flush(self) -> None:
                real.flush()

        sys.stdout = NoFileno()
        try:
            logs = make_logs(errorlog=None, accesslog="-", access_log_format="%(s)s")
        finally:
            sys.stdout = saved
        logs.access(make_record())
        assert path.read_text() == "200\n"


# ---------------------------------------------------------------------------------------
# JSON access lines
# ---------------------------------------------------------------------------------------


def render_json(tmp_path: Path, fmt: str, rec: AccessRecord | None = None) -> dict[str, Any]:
    path = tmp_path / "access.json"
    path.unlink(missing_ok=True)
    logs = Logs(errorlog=None, accesslog=str(path), access_log_format=fmt, access_log_json=True)
    try:
        logs.access(rec if rec is not None else make_record())
    finally:
        logs.close()
    text = path.read_text(encoding="ascii")  # non-ASCII is escaped
    assert text.count("\n") == 1 and text.endswith("\n")
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def test_json_line_of_the_default_format(tmp_path: Path, tz_minus_7: None) -> None:
    assert render_json(tmp_path, DEFAULT_ACCESS_LOG_FORMAT) == {
        "remote_addr": "192.0.2.7",
        "ident": None,
        "user": None,
        "time": "2000-10-10T13:55:36.750-07:00",
        "request": "GET /apache_pb.gif?x=1&y=2 HTTP/1.1",
        "status": 200,
        "response_length": 2326,
        "referer": "http://www.example.com/start.html",
        "user_agent": "Mozilla/4.08 [en] (Win98; I ;Nav)",
    }


def test_json_line_has_typed_values_and_groups(tmp_path: Path) -> None:
    fmt = (
        "%(m)s %(U)s %(q)s %(H)s %(B)s %(T)s %(M)s %(D)s %(L)s %(p)s %(unknown)s "
        "%({x-request-id}i)s %({missing}i)s %({content-type}o)s %({script_name}e)s"
    )
    assert render_json(tmp_path, fmt) == {
        "method": "GET",
        "path": "/apache_pb.gif",
        "query": "x=1&y=2",
        "protocol": "HTTP/1.1",
        "response_length": 2326,
        "request_time_s": 1,
        "request_time_ms": 1234,
        "request_time_us": 1234567,
        "request_time": 1.234567,
        "pid": 4242,
        "unknown": None,
        "request_headers": {"x-request-id": "abc-123", "missing": None},
        "response_headers": {"content-type": "image/gif"},
        "environ": {"script_name": "/app"},
    }


def test_json_line_escapes_what_text_lines_escape(tmp_path: Path) -> None:
    nasty = 'a"b\\c\r\nd\u2028é'
    auth = "Basic " + base64.b64encode("ünïcode:pw".encode()).decode()
    rec = make_record(
        path="/p\nq", request_headers=[("User-Agent", nasty), ("Authorization", auth)]
    )
    line = render_json(tmp_path, "%(U)s %(a)s %(u)s", rec)
    assert line == {"path": "/p\nq", "user_agent": nasty, "user": "ünïcode"}


def test_json_refuses_what_the_text_format_refuses() -> None:
    with pytest.raises(ConfigError, match="stray '%'"):
        Logs(errorlog=None, access_log_format="100% %(h)s", access_log_json=True)


# ---------------------------------------------------------------------------------------
# The access log through logging: the atoms as record.args
# ---------------------------------------------------------------------------------------


class _Keep(logging.Handler):
    """A real handler that keeps the records it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_gunicorn_logger_names_are_corrals_loggers(make_logs: Any) -> None:
    make_logs(errorlog=None)
    assert logging.getLogger("gunicorn.error") is logging.getLogger("corral.error")
    assert logging.getLogger("gunicorn.access") is logging.getLogger("corral.access")
    child = logging.getLogger("gunicorn.error.child")
    assert child.parent is logging.getLogger("corral.error")


def test_access_records_carry_the_atoms(tmp_path: Path, make_logs: Any) -> None:
    keep = _Keep()
    access = tmp_path / "corral-access.log"
    config = {
        "handlers": {"keep": {"()": lambda: keep}},
        "loggers": {"gunicorn.access": {"handlers": ["keep"]}},
    }
    logs = make_logs(
        errorlog=None,
        accesslog=str(access),
        logconfig=logconfig.load(None, config, None)[0],
    )
    assert logs.access_enabled
    logs.access(make_record())
    [record] = keep.records
    assert record.name == "corral.access" and record.levelno == logging.INFO
    atoms = record.args
    assert isinstance(atoms, Mapping)
    assert atoms["s"] == 200 and atoms["U"] == "/apache_pb.gif" and atoms["nope"] == "-"
    assert atoms["{x-request-id}i"] == "abc-123" and atoms["{user-agent}i"].startswith("Moz")
    assert record.getMessage() == render(tmp_path, DEFAULT_ACCESS_LOG_FORMAT)
    # The configuration named gunicorn.access: its handlers replace --access-logfile's.
    assert not access.exists() or access.read_text() == ""


def test_unnamed_loggers_keep_corrals_handlers(tmp_path: Path, make_logs: Any) -> None:
    keep = _Keep()
    error, access = tmp_path / "e.log", tmp_path / "a.log"
    config = {"handlers": {"keep": {"()": lambda: keep}}, "root": {"handlers": ["keep"]}}
    logs = make_logs(
        errorlog=str(error),
        accesslog=str(access),
        access_log_format="%(U)s",
        logconfig=logconfig.load(None, config, None)[0],
    )
    logs.info("to the file")
    logs.access(make_record())
    assert "[INFO] to the file" in error.read_text()
    assert access.read_text() == "/apache_pb.gif\n"
    assert keep.records == []  # corral's loggers do not propagate to the root
    logging.root.removeHandler(keep)


def test_a_configuration_without_an_access_handler_turns_the_access_log_off() -> None:
    # In a process of its own: pytest puts its capture handler on every logger that does
    # not propagate, which is a handler for the access log.
    code = (
        "from corral import logconfig\n"
        "from corral.logs import Logs\n"
        "config = {'loggers': {'gunicorn.error': {'level': 'DEBUG'}}}\n"
        "logs = Logs(errorlog=None, logconfig=logconfig.load(None, config, None)[0])\n"
        "print(logs.access_enabled, logs.debug_enabled)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    # No handler for the access log: off. The configuration's level beats --log-level info.
    assert result.stdout == "False True\n", result.stderr


def test_disable_existing_loggers_never_silences_corral(tmp_path: Path, make_logs: Any) -> None:
    error = tmp_path / "e.log"
    config = {"disable_existing_loggers": True, "loggers": {"some.library": {"level": "ERROR"}}}
    logs = make_logs(errorlog=str(error), logconfig=logconfig.load(None, config, None)[0])
    logs.info("still here")
    assert "still here" in error.read_text()


def test_logconfig_precedence_warns(tmp_path: Path) -> None:
    ini = tmp_path / "l.ini"
    ini.write_text("")
    config, warnings = logconfig.load(str(ini), {"loggers": {}}, str(tmp_path / "l.json"))
    assert config is not None and config.setting == "logconfig_dict"
    assert warnings == [
        "--log-config-json is ignored: logconfig_dict takes precedence",
        "--log-config is ignored: logconfig_dict takes precedence",
    ]


def test_both_names_of_one_logger_are_refused(tmp_path: Path) -> None:
    ini = tmp_path / "l.ini"
    ini.write_text(
        "[loggers]\nkeys=root,a,b\n[logger_a]\nqualname=gunicorn.access\n"
        "[logger_b]\nqualname=corral.access\n"
    )
    with pytest.raises(
        ConfigError, match=re.escape("configures both 'gunicorn.access' and 'corral.access'")
    ):
        logconfig.load(str(ini), None, None)


def test_reopen_reopens_a_configurations_file_handlers(tmp_path: Path, make_logs: Any) -> None:
    path = tmp_path / "conf.log"
    config = {
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(path)}},
        "loggers": {"gunicorn.error": {"handlers": ["file"]}},
    }
    logs = make_logs(errorlog=None, logconfig=logconfig.load(None, config, None)[0])
    logs.info("before")
    assert str(path) in logs.file_paths()
    path.rename(tmp_path / "conf.log.1")
    logs.reopen()
    logs.info("after")
    assert (tmp_path / "conf.log.1").read_text() == "before\n"
    assert path.read_text() == "after\n"


def test_a_configuration_that_fails_opens_nothing(tmp_path: Path) -> None:
    config = {"handlers": {"h": {"class": "logging.Nope"}}}
    with pytest.raises(ConfigError, match="Unable to configure handler 'h'"):
        Logs(errorlog=None, logconfig=logconfig.load(None, config, None)[0])


# ---------------------------------------------------------------------------------------
# Syslog addresses, messages on a real socket
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "target", "socktype"),
    [
        ("udp://localhost:514", ("localhost", 514), socket.SOCK_DGRAM),
        ("udp://Syslog.Example", ("syslog.example", 514), socket.SOCK_DGRAM),
        ("udp://", ("localhost", 514), socket.SOCK_DGRAM),
        ("tcp://10.0.0.1:601", ("10.0.0.1", 601), socket.SOCK_STREAM),
        ("tcp://[::1]:6514", ("::1", 6514), socket.SOCK_STREAM),
        ("tcp://[::1]", ("::1", 514), socket.SOCK_STREAM),
        ("unix:///dev/log", "/dev/log", None),
        ("unix:///dev/log#dgram", "/dev/log", socket.SOCK_DGRAM),
        ("unix:///run/x.sock#stream", "/run/x.sock", socket.SOCK_STREAM),
    ],
)
def test_syslog_addresses(text: str, target: object, socktype: int | None) -> None:
    assert syslog.parse_address(text) == syslog.Address(target, socktype)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "localhost:514",
        "smtp://x",
        "udp://h:0",
        "udp://h:port",
        "unix://",
        "unix:///x#raw",
        "tcp://[::1",
    ],
)
def test_bad_syslog_addresses(text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        syslog.parse_address(text)


def test_syslog_messages_on_a_unix_stream_socket(tmp_path: Path, make_logs: Any) -> None:
    path = str(tmp_path / "log.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen()
        settings = syslog.SyslogSettings(f"unix://{path}", "daemon", "api", access=True)
        logs = make_logs(errorlog=None, syslog=settings, access_log_format="%(U)s %(s)s")
        conn, _ = server.accept()  # the error log's connection, then the access log's
        conn2, _ = server.accept()
        with conn, conn2:
            logs.warning("disk %s", "low")
            logs.access(make_record())
            conn.settimeout(10)
            conn2.settimeout(10)
            error, access = conn.recv(4096), conn2.recv(4096)
    pid = os.getpid()
    # daemon is facility 3: warning is 3 * 8 + 4, info 3 * 8 + 6.
    assert error == b"<28>corral.api.error: [%d] disk low\x00" % pid
    assert access == b"<30>corral.api.access: [%d] /apache_pb.gif 200\x00" % pid


def test_unreachable_syslog_opens_nothing(tmp_path: Path) -> None:
    settings = syslog.SyslogSettings(f"unix://{tmp_path}/none", "user", "x", access=True)
    error = tmp_path / "e.log"
    with pytest.raises(ConfigError, match="cannot reach the syslog daemon"):
        Logs(errorlog=str(error), syslog=settings)


# ---------------------------------------------------------------------------------------
# --logger-class
# ---------------------------------------------------------------------------------------


class _MyLogs(Logs):
    pass


def test_logger_class_spellings() -> None:
    assert load_logger_class("gunicorn.glogging.Logger") is Logs
    assert load_logger_class("corral.logs.Logs") is Logs
    assert load_logger_class("corral.logs:Logs") is Logs
    assert load_logger_class(_MyLogs) is _MyLogs
    assert load_logger_class(f"{__name__}._MyLogs") is _MyLogs


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nosuchmodule.Logs", "cannot load it: No module named 'nosuchmodule'"),
        ("corral.logs.Nope", "cannot load it: module 'corral.logs' has no attribute 'Nope'"),
        ("corral.logs.AccessRecord", "not a corral logger class"),
        (logging.Logger, "not a corral logger class"),
        ("Logs", "expected package.module.Class"),
    ],
)
def test_bad_logger_classes(value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_logger_class(value)


def test_capture_stdio_points_descriptors_1_and_2_at_the_error_log(tmp_path: Path) -> None:
    error = tmp_path / "e.log"
    code = (
        "import os\n"
        "from corral.logs import Logs\n"
        f"logs = Logs(errorlog={str(error)!r}, capture_output=True)\n"
        "logs.capture_stdio()\n"
        "print('printed', flush=True)\n"
        "os.write(2, b'fd2\\n')\n"
        f"os.rename({str(error)!r}, {str(error) + '.1'!r})\n"
        "logs.reopen()\n"
        "print('after rotation', flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    assert (tmp_path / "e.log.1").read_text() == "printed\nfd2\n"
    assert error.read_text() == "after rotation\n"
