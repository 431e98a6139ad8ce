"""Guichet kiosk."""
