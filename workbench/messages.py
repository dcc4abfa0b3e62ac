"""Error text fit for one terminal line: long values shortened so no message quotes megabytes.

A config value or column name can be arbitrarily long (a pasted file, a generated name); an
error quoting it in full would bury what to do. `quote` shortens one value where a message is
built; `one_line` shortens whatever a finished message still holds, as the CLI prints it.
"""

from __future__ import annotations

import re

LIMIT = 200  # characters of any one value an error quotes
LINE_LIMIT = 1000  # characters of a whole error line
_HEAD, _TAIL = 150, 30

# A quoted value: a quote not preceded by a letter (so "incident's" is no quote), the same
# quote closing it before a space, punctuation or the end; only long ones are matched.
_QUOTED = re.compile(r"(?<!\w)(['\"])([^'\"\n]{" + str(LIMIT + 1) + r",}?)\1(?=[\s,.;:!?)\]}]|$)")
_LONG_RUN = re.compile(r"\S{" + str(LIMIT + 1) + ",}")


def shorten(text: str, limit: int = LIMIT) -> str:
    """Text of at most about `limit` characters: head … tail, with the full length said."""
    if len(text) <= limit:
        return text
    return f"{text[:_HEAD]}…{text[-_TAIL:]} ({len(text):,} characters)"


def quote(value: object, limit: int = LIMIT) -> str:
    """repr(value) for a message, shortened when longer than `limit` characters."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:_HEAD]!r}…{value[-_TAIL:]!r} ({len(value):,} characters)"
    text = repr(value)
    return shorten(text, limit)


def one_line(message: str, limit: int = LIMIT, line_limit: int = LINE_LIMIT) -> str:
    """The message on one line, every long quoted value or unbroken run shortened."""
    text = " ".join(message.split())
    text = _QUOTED.sub(lambda m: _shorten_quoted(m.group(1), m.group(2)), text)
    text = _LONG_RUN.sub(lambda m: shorten(m.group(0), limit), text)
    if len(text) > line_limit:
        keep_head, keep_tail = line_limit * 3 // 5, line_limit * 3 // 10
        cut = len(text) - keep_head - keep_tail
        text = f"{text[:keep_head]} … ({cut:,} characters left out) … {text[-keep_tail:]}"
    return text


def _shorten_quoted(mark: str, value: str) -> str:
    return f"{mark}{value[:_HEAD]}…{value[-_TAIL:]}{mark} ({len(value):,} characters)"
