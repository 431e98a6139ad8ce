"""The display board in the waiting room: calls with a chime and a voice, fed by the counters'
call buttons on a serial line (docs/display.md, docs/buttons.md).

The logic needs no screen (``core``, ``buttons``, ``audio``, ``runtime``); the Kivy app
(``app``, ``screens``, ``kv/``) only draws it. ``main.run_display`` is ``guichet display``.
"""
