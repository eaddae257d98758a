"""Text from files and names made safe to show on a terminal or in a log.

A file's text chunks, a file name or a plugin's description can hold control
characters that a terminal obeys: set the window title or the clipboard
(OSC 0, OSC 52), reset the screen (ESC c), hide text (\\r, \\b), or reorder
it (bidi overrides). `safe_text` shows each such character as an escape
instead, the way Python writes string literals:

    \\n \\r \\t                     newline, carriage return, tab
    \\x1b                         other C0 controls and DEL (U+0000-U+001F, U+007F)
    \\u009b \\u202e \\u2028         C1 controls, bidi controls, line/paragraph separators
    \\x9b                         a byte of a file name that is not valid UTF-8
    \\\\                           a backslash, so that every escape reads one way

``--json`` output needs none of this: JSON escapes these characters itself.
"""

from __future__ import annotations

import re

__all__ = ["safe_text"]

_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}

_UNSAFE = re.compile(
    "[\\\\\x00-\x1f\x7f-\x9f"
    "\u061c\u200e\u200f"  # Arabic letter mark, left-to-right and right-to-left marks
    "\u2028-\u202e"  # line and paragraph separators, bidi embeddings and overrides
    "\u2066-\u2069"  # bidi isolates
    "\ud800-\udfff]"  # lone surrogates: undecodable bytes of a file name (surrogateescape)
)


def safe_text(text: object) -> str:
    """`text` (made a str) with every character a terminal would obey shown as an escape.

    >>> print(safe_text("a\\x1b]0;title\\x07b\\r\\u009b\\\\"))
    a\\x1b]0;title\\x07b\\r\\u009b\\\\
    >>> safe_text("plain café.png")
    'plain café.png'
    """
    return _UNSAFE.sub(_escape, str(text))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # the byte surrogateescape kept
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"
