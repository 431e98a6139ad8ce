"""Guichet's configuration: pydantic-settings models for every process, read from TOML files.

Sources, highest precedence first: keyword arguments (tests), ``GUICHET_`` environment variables
(``__`` separates nested keys: ``GUICHET_SERVER__URL``), the TOML file, then field defaults.
A bad file fails loudly with the file and the field (``config.loader.ConfigError``).
"""
