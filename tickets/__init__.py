"""Guichet's queue domain: sites, services, counters, tickets and the events that change them.

Pure code: no file, network or clock access except where a module says so (``journal``,
``sync``). Everything else in Guichet builds on these types.
"""
