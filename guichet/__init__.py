"""The ``guichet`` command: the one module that knows every process."""

__version__ = "0.1.0"
