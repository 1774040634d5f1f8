"""How corral finds the gevent worker, and refuses one built for another worker API."""

from __future__ import annotations

import subprocess
import sys

from corral.workers.base import WORKER_API_VERSION
from gevent_testing import APPS, WORKER


def _corral(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corral", *args],
        cwd=APPS,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_entry_point_names_the_worker_and_it_speaks_this_api() -> None:
    from corral.plugins import load_worker_class
    from corral_gevent.worker import GeventWorker

    cls = load_worker_class(WORKER)
    assert cls is GeventWorker
    assert cls.CORRAL_WORKER_API == WORKER_API_VERSION
    # Gunicorn's spelling in old gunicorn.conf.py files finds it too.
    assert load_worker_class("gunicorn.workers.ggevent.GeventWorker") is GeventWorker


def test_a_worker_for_another_api_is_refused_with_both_versions_and_the_fix() -> None:
    result = _corral("--check-config", "-k", "future_worker:FutureGeventWorker", "green_app:app")
    assert result.returncode != 0
    message = result.stderr
    assert f"worker API {WORKER_API_VERSION + 1}" in message, message
    assert f"speaks worker API {WORKER_API_VERSION}" in message, message
    assert "pip install --upgrade corral" in message, message
    assert "Traceback" not in message


def test_an_installed_plugin_of_another_api_names_its_distribution() -> None:
    # The installed entry point itself, as if corral-gevent were built for another API.
    code = (
        "import sys\n"
        "from corral_gevent.worker import GeventWorker\n"
        f"GeventWorker.CORRAL_WORKER_API = {WORKER_API_VERSION + 1}\n"
        "from corral.cli import main\n"
        f"sys.exit(main(['--check-config', '-k', '{WORKER}', 'green_app:app']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=APPS, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "pip install --upgrade corral corral-gevent" in result.stderr, result.stderr
