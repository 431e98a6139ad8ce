"""Guichet server."""
