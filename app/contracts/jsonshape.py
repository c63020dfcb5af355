"""What a JSON text may look like before anything parses it: nested at most
``MAX_DEPTH`` deep (Python's parser recurses, and a deep document would end in
a RecursionError), and no control character but tab, newline and carriage
return inside a string (a NUL cannot be stored in PostgreSQL text, and no field
of ours needs one). Linear, and in C where it matters: a hostile 5 MB body
costs milliseconds."""
from __future__ import annotations

import json
import re
from itertools import accumulate

MAX_DEPTH = 32
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # unrolled: one C loop per string
_ESCAPE = re.compile(rb"\\+u00[01][0-9a-fA-F]|\\+u007[fF]")
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")  # every byte but the brackets: deleted
_DELTA = [0] * 256
for _c in b"[{":
    _DELTA[_c] = 1
for _c in b"]}":
    _DELTA[_c] = -1
ALLOWED = {"\t", "\n", "\r"}


def problem(text: bytes, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``text`` is refused, or None."""
    for m in (_ESCAPE.finditer(text) if b"\\u00" in text else ()):  # the scan only where an escape is
        run = m.group()
        slashes = len(run) - len(run.lstrip(b"\\"))
        if slashes % 2 == 1:  # an escape, not an escaped backslash followed by "u00.."
            char = json.loads(b'"' + run[slashes - 1:] + b'"')
            if char not in ALLOWED:
                return f"control character U+{ord(char):04X} in a string: not allowed"
    if text.count(b"[") + text.count(b"{") <= max_depth:
        return None  # too few brackets to be too deep, wherever they are
    skeleton = _STRING.sub(b'""', text).translate(None, _BRACKETS)
    if skeleton and max(accumulate(map(_DELTA.__getitem__, skeleton))) > max_depth:
        return f"nested deeper than {max_depth} levels"
    return None
