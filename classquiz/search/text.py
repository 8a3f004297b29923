"""Pure text helpers for search: tokenising a query and the typo rules.

Kept free of I/O so the typo rules (the same as Meilisearch's defaults: one
typo from 5 letters, two from 9) are tested directly and fast.
"""

from __future__ import annotations

import re

from rapidfuzz.distance import OSA

MAX_TOKENS = 8
MAX_TOKEN_CHARS = 40
ONE_TYPO_MIN_CHARS = 5
TWO_TYPOS_MIN_CHARS = 9

_WORD = re.compile(r"[^\W_]+")


def tokenize(query: str) -> list[str]:
    """Lowercased words (letters and digits) of a query, at most `MAX_TOKENS`.

    Everything else is a separator, so a token can never carry tsquery syntax
    (`&`, `|`, `!`, `:`, quotes) into the SQL built from it.
    """
    tokens = [t.lower()[:MAX_TOKEN_CHARS] for t in _WORD.findall(query)]
    return tokens[:MAX_TOKENS]


def is_plain_word(word: str) -> bool:
    """True for a word `tokenize` could produce (letters and digits only)."""
    return _WORD.fullmatch(word) is not None


def allowed_typos(word: str) -> int:
    """How many typos a query word of this length may contain (Meilisearch's defaults)."""
    if word.isdigit():
        return 0
    if len(word) >= TWO_TYPOS_MIN_CHARS:
        return 2
    if len(word) >= ONE_TYPO_MIN_CHARS:
        return 1
    return 0


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts as one typo).

    Returns `limit + 1` as soon as the distance is known to exceed `limit`
    (rapidfuzz stops early then), which keeps checking many candidates cheap.
    """
    return int(OSA.distance(a, b, score_cutoff=limit))


def is_typo_of(token: str, word: str, *, prefix: bool) -> bool:
    """True when `word` (from the lexicon) is `token` with at most its allowed typos.

    With `prefix` (the last word of a query, still being typed) `word` may also
    merely start with such a spelling, as in `pythn` → `pythonic`.
    """
    limit = allowed_typos(token)
    if limit == 0 or word == token or (prefix and word.startswith(token)):
        return False  # no typo budget, or matched as typed (the prefix already covers it)
    if word[:1] != token[:1]:
        return False  # first-letter typos are not corrected (see classquiz.search.postgres)
    if edit_distance(token, word, limit) <= limit:
        return True
    if prefix:
        for length in range(max(1, len(token) - limit), min(len(word), len(token) + limit) + 1):
            if edit_distance(token, word[:length], limit) <= limit:
                return True
    return False


def tsquery_lexeme(word: str, *, prefix: bool) -> str:
    """One quoted tsquery operand; `word` comes from `tokenize` or the lexicon."""
    clean = word.replace("'", "").replace("\\", "")
    return f"'{clean}':*" if prefix else f"'{clean}'"
