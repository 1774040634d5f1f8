"""The request corpus: raw requests and the verdict corral must reach on each.

``requests.CASES`` is the data; ``run.py`` runs it through the sans-IO core and against a
running corral (importable by other packages' tests through :func:`run_corpus`).
"""
