"""Typo candidates from an in-memory copy of the search lexicon (no database extension).

Why in memory: the embedded PostgreSQL of the zero-configuration start ships
neither pg_trgm nor fuzzystrmatch, so the database cannot rank words by
similarity. Each process instead keeps the lexicon's words grouped by first
letter and length and asks rapidfuzz (C++) for every word within the typo
budget by optimal-string-alignment distance (a swap of neighbours is one
typo). That is exhaustive, not a nearest-N guess, and takes microseconds for
a lexicon of tens of thousands of words.

The rules themselves live in `classquiz.search.text` (`allowed_typos`,
`is_typo_of`); this module only finds the words they accept, fast. A typo in
the first letter is not corrected, which is what keeps a look-up to a few
buckets.

For the last query word (perhaps still being typed) the answers are
*prefixes*: `pythn` → `pytho`, served as the tsquery prefix `'pytho':*`, so
one correction covers python, pythonic and every other word starting so.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from classquiz.search.text import MAX_TOKEN_CHARS, allowed_typos, is_plain_word

# Lexicon words are 4 to 40 characters (migration 0002's rule); so are the prefixes kept.
MIN_WORD_CHARS = 4

Bucket = tuple[str, int]  # (first letter, length)


class TypoLexicon:
    """Words by first letter and length (and, built on first use, their prefixes likewise).

    Memory: each word once in a set and twice in lists, plus the prefix
    buckets queries have asked for; measured in bench/SEARCH_RESULTS.md.
    Prefix buckets are built lazily because building all of them up front
    cost seconds of CPU per load (in every process, after every rebuild),
    while a query needs at most five.
    """

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._by_letter: dict[str, list[str]] = {}
        self._words: dict[Bucket, list[str]] = {}
        # (first letter, length) -> the distinct prefixes of that length: as a set, and as a
        # list for rapidfuzz (the same strings).
        self._prefixes: dict[Bucket, tuple[set[str], list[str]]] = {}

    def __len__(self) -> int:
        return len(self._known)

    def __contains__(self, word: object) -> bool:
        return word in self._known

    def add(self, words: Iterable[str]) -> int:
        """Learn words (already-known ones are ignored); returns how many were new."""
        added = 0
        for word in words:
            if word in self._known or not MIN_WORD_CHARS <= len(word) <= MAX_TOKEN_CHARS:
                continue
            if not is_plain_word(word):
                continue  # e.g. "e-mail": a query word can never be spelled so
            self._known.add(word)
            self._by_letter.setdefault(word[0], []).append(word)
            self._words.setdefault((word[0], len(word)), []).append(word)
            for length in range(MIN_WORD_CHARS, len(word) + 1):
                built = self._prefixes.get((word[0], length))
                if built is not None and word[:length] not in built[0]:
                    built[0].add(word[:length])
                    built[1].append(word[:length])
            added += 1
        return added

    def _prefix_bucket(self, letter: str, length: int) -> list[str]:
        built = self._prefixes.get((letter, length))
        if built is None:
            starts = {w[:length] for w in self._by_letter.get(letter, ()) if len(w) >= length}
            built = self._prefixes[(letter, length)] = (starts, sorted(starts))
        return built[1]

    def corrections(self, token: str, *, prefix: bool, limit: int) -> list[str]:
        """At most `limit` spellings within `token`'s typo budget, closest first.

        Without `prefix`: lexicon words `w` with `is_typo_of(token, w, prefix=False)`.
        With `prefix`: prefixes `p` of lexicon words such that the words starting
        with one of them are exactly those with `is_typo_of(token, w, prefix=True)`
        (a prefix that starts with another one kept is left out: it adds nothing).
        """
        budget = allowed_typos(token)
        if budget == 0 or not token:
            return []
        found: list[tuple[int, int, str]] = []
        for length in range(len(token) - budget, len(token) + budget + 1):
            if prefix:
                choices = self._prefix_bucket(token[0], length)
            else:
                choices = self._words.get((token[0], length), [])
            if not choices:
                continue
            for spelling, distance, _ in process.extract(
                token, choices, scorer=OSA.distance, score_cutoff=budget, limit=None
            ):
                if spelling == token or (prefix and spelling.startswith(token)):
                    continue  # matched as typed already
                found.append((int(distance), abs(len(spelling) - len(token)), spelling))
        if prefix:
            # A prefix that starts with another candidate matches nothing more.
            spellings = {s for _, _, s in found}
            found = [f for f in found if not _extends_any(f[2], spellings)]
        return [spelling for _, _, spelling in sorted(found)[:limit]]


def _extends_any(spelling: str, others: set[str]) -> bool:
    """True when a shorter string of `others` is a prefix of `spelling`."""
    return any(spelling[:length] in others for length in range(MIN_WORD_CHARS, len(spelling)))
