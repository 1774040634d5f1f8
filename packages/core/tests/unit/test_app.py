"""corral.app's configuration object: Gunicorn's ``cfg.settings`` / ``cfg.set`` shape, with
every value checked as the command line checks it."""

from __future__ import annotations

import pytest
from corral.app import APPLICATION, AppConfig, Application, BaseApplication, WSGIApplication
from corral.config import sources
from corral.config.settings import SETTINGS, UNSUPPORTED_SETTINGS
from corral.errors import AppImportError, ConfigError, UsageError


def hello(environ, start_response):
    start_response("200 OK", [])
    return [b"hello"]


def test_settings_has_every_name_gunicorns_has_so_the_recipe_filter_lets_them_through():
    cfg = AppConfig(environ={})
    names = {s.name for s in SETTINGS} | {u.name for u in UNSUPPORTED_SETTINGS}
    assert set(cfg.settings) == names
    assert "workers" in cfg.settings and "statsd_host" in cfg.settings
    assert "not_a_setting" not in cfg.settings
    assert cfg.settings["workers"].cli == ["-w", "--workers"]
    assert cfg.settings["workers"].section == "Worker Processes"


def test_set_checks_and_converts_the_value_and_the_views_show_it():
    cfg = AppConfig(environ={})
    cfg.set("workers", "3")
    cfg.set("bind", "127.0.0.1:9001")
    assert cfg.workers == 3
    assert cfg.settings["workers"].get() == 3
    assert cfg.settings["bind"].value == ["127.0.0.1:9001"]
    cfg.settings["timeout"].set(7)
    assert cfg.timeout == 7
    built = cfg.build()
    assert built.workers == 3 and built.timeout == 7
    assert built.source("workers") == APPLICATION
    assert built.source("threads") == sources.DEFAULT


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("workers", 0, "setting 'workers': expected an integer >= 1, got 0"),
        ("wrokers", 2, "setting 'wrokers': there is no such setting (did you mean 'workers'?)"),
        ("post_fork", lambda: None, "setting 'post_fork'"),
        ("config", "x.py", "setting 'config': an embedding program reads a config file"),
    ],
)
def test_an_unknown_name_or_a_bad_value_is_a_usage_error(name, value, message):
    with pytest.raises(UsageError) as info:
        AppConfig(environ={}).set(name, value)
    assert info.value.message.startswith(message), info.value.message
    assert info.value.exit_code == 2


def test_a_gunicorn_setting_corral_lacks_is_warned_about_refused_or_accepted_when_off():
    cfg = AppConfig(environ={})
    cfg.set("spew", False)  # asks for nothing
    assert cfg.build().warnings == []
    cfg.set("spew", True)
    assert cfg.build().warnings == [
        "setting 'spew' is not supported by corral and is ignored: "
        "a debugging trace; nothing else changes"
    ]
    refused = next(u for u in UNSUPPORTED_SETTINGS if u.refuse)
    with pytest.raises(UsageError) as info:
        cfg.set(refused.name, "something")
    assert f"setting '{refused.name}' is not supported yet" in info.value.message


def test_defaults_from_the_environment_apply_as_for_the_command():
    cfg = AppConfig(environ={"PORT": "9000", "WEB_CONCURRENCY": "5"})
    assert cfg.bind == ["0.0.0.0:9000"]
    assert cfg.workers == 5


def test_default_load_config_applies_options_and_load_returns_the_app():
    app = Application(app=hello, options={"workers": 2, "timeout": 9})
    assert (app.cfg.workers, app.cfg.timeout) == (2, 9)
    assert app.wsgi() is hello
    assert BaseApplication is Application


def test_a_bad_option_ends_the_program_with_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        Application(app=hello, options={"workers": "many"})
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        "corral: error: setting 'workers': expected an integer >= 1, got 'many'\n"
    )


def test_a_failing_reload_keeps_the_previous_configuration():
    class Flaky(Application):
        fail = False

        def load_config(self):
            self.cfg.set("workers", 4)
            if self.fail:
                raise KeyError("gone")

    app = Flaky(app=hello)
    previous = app.cfg
    app.fail = True
    with pytest.raises(ConfigError) as info:
        app.reload()
    assert info.value.message.startswith("Flaky.load_config() failed: KeyError: 'gone'")
    assert app.cfg is previous


def test_load_must_return_a_callable():
    class Wrong(Application):
        def load(self):
            return "not an app"

    with pytest.raises(AppImportError) as info:
        Wrong().wsgi()
    assert info.value.message == "Wrong.load() returned a str, not a callable WSGI application"


def test_wsgi_application_names_its_app_in_the_configuration():
    app = WSGIApplication(app_uri="echo:app", options={"workers": 2})
    assert app.cfg.build(app.app_uri_for_config()).app_uri == "echo:app"
    by_setting = WSGIApplication(options={"wsgi_app": "echo:app"})
    assert by_setting.app_uri_for_config() == "echo:app"
    with pytest.raises(UsageError):
        WSGIApplication().app_uri_for_config()
