"""corral: a pre-fork WSGI HTTP server for Unix."""

__version__ = "0.1.0"
SERVER_SOFTWARE = f"corral/{__version__}"

__all__ = ["SERVER_SOFTWARE", "__version__"]
