"""Characters a player may not put on other people's screens (nicknames and text answers).

One rule for everything a player types that others see: format characters
(Cf: zero-width spaces and joiners, bidirectional overrides and isolates,
byte-order marks), control characters (Cc, NUL included), private-use (Co),
surrogates (Cs) and unassigned code points (Cn), plus the fillers that render
as blanks. Tab, newline and carriage return are whitespace that the callers
collapse, so they pass. Check the NFKC form: that is what gets shown.
"""

from __future__ import annotations

import unicodedata

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
BLANK_FILLERS = frozenset({"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"})
_WHITESPACE = frozenset({"\t", "\n", "\r", " "})


def is_invisible(char: str) -> bool:
    """Whether one character is invisible, a control or a blank filler."""
    if char in _WHITESPACE:
        return False
    return unicodedata.category(char) in REFUSED_CATEGORIES or char in BLANK_FILLERS


def has_invisible(text: str) -> bool:
    """Whether `text` holds any character that `is_invisible` refuses."""
    return any(is_invisible(char) for char in text)
