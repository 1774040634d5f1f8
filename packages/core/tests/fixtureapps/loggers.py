"""Logging pieces a configuration names: a --logger-class, and a filter for dictConfig."""

import logging
from collections.abc import Mapping

from corral.logs import Logs


class TaggedLogs(Logs):
    """A corral logger class: every access line also says so on the error log."""

    def access(self, rec):
        self.info("TAGGED %s %s %d", rec.method, rec.path, rec.status)
        super().access(rec)


class NotALogger:
    """Has the name of a logger class and nothing else."""


class SkipPath(logging.Filter):
    """A Gunicorn user's health-check filter: reads the atoms of the access record."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def filter(self, record):
        return not (isinstance(record.args, Mapping) and record.args["U"] == self.path)
