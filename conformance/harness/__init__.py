"""The conformance suite's harness: Docker engine and images, proxies, slow clients, matrix."""
