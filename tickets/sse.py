"""Server-sent events: the text/event-stream wire format, parsed incrementally.

Only what the HTML standard's event-stream interpretation needs for our stream: ``id``,
``event``, ``data`` (several lines joined with "\\n"), ``retry``, comments (lines starting with
":"), any of CRLF, LF or CR as line ends, and a message dispatched at each blank line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Message:
    event: str
    """The ``event:`` field, "message" when absent."""
    data: str
    id: str | None
    """The last ``id:`` seen in the stream so far (the resume point), None before any."""


class Parser:
    """Feed it text as it arrives; it returns the complete messages."""

    def __init__(self) -> None:
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self.last_id: str | None = None
        self.retry_ms: int | None = None
        """The reconnection time the server asked for (milliseconds), None when it did not."""

    def feed(self, text: str) -> list[Message]:
        self._buffer += text
        out: list[Message] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return out
            end, after = cut
            line = self._buffer[:end]
            self._buffer = self._buffer[after:]
            message = self._line(line)
            if message is not None:
                out.append(message)

    def _line(self, line: str) -> Message | None:
        if line == "":
            if not self._data:
                self._event = ""
                return None
            message = Message(self._event or "message", "\n".join(self._data), self.last_id)
            self._event, self._data = "", []
            return message
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry_ms = int(value)
        return None


def _line_end(buffer: str) -> tuple[int, int] | None:
    """(end of the first line, start of the next) or None when no line is complete.

    A CR at the very end may be the first half of a CRLF: wait for the next character.
    """
    for i, ch in enumerate(buffer):
        if ch == "\n":
            return i, i + 1
        if ch == "\r":
            if i + 1 == len(buffer):
                return None
            return i, i + 2 if buffer[i + 1] == "\n" else i + 1
    return None
