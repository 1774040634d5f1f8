"""Built-in worker classes. Plug-ins register theirs in the ``corral.workers`` group."""
