"""The in-memory typo look-up (`TypoLexicon`) against the typo rules it must implement.

`classquiz.search.text.is_typo_of` is the rule; the lexicon is the fast way to
find every word the rule accepts. The property tests compare the two over
small alphabets, where near neighbours are plentiful.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from classquiz.search.lexicon import TypoLexicon
from classquiz.search.text import is_typo_of

EVERYTHING = 10**6

words = st.text(alphabet="abc", min_size=4, max_size=12)
tokens = st.text(alphabet="abc", min_size=1, max_size=13)


def lexicon_of(*items: str) -> TypoLexicon:
    lexicon = TypoLexicon()
    lexicon.add(items)
    return lexicon


@settings(max_examples=300, deadline=None)
@given(st.lists(words, max_size=60), tokens)
def test_whole_words_are_exactly_those_the_rule_accepts(vocabulary: list[str], token: str) -> None:
    found = lexicon_of(*vocabulary).corrections(token, prefix=False, limit=EVERYTHING)
    assert set(found) == {w for w in vocabulary if is_typo_of(token, w, prefix=False)}
    assert len(found) == len(set(found))


@settings(max_examples=300, deadline=None)
@given(st.lists(words, max_size=60), tokens)
def test_prefixes_match_exactly_the_words_the_rule_accepts(
    vocabulary: list[str], token: str
) -> None:
    """The words starting with a returned prefix: every typo match, nothing else new."""
    prefixes = lexicon_of(*vocabulary).corrections(token, prefix=True, limit=EVERYTHING)
    reached = {w for w in vocabulary if any(w.startswith(p) for p in prefixes)}
    accepted = {w for w in vocabulary if is_typo_of(token, w, prefix=True)}
    as_typed = {w for w in vocabulary if w.startswith(token)}
    assert accepted <= reached <= accepted | as_typed
    assert not any(a != b and a.startswith(b) for a in prefixes for b in prefixes)


@settings(max_examples=200, deadline=None)
@given(st.lists(words, max_size=40), st.lists(words, max_size=40), tokens, st.booleans())
def test_words_added_later_are_found_like_words_loaded_at_once(
    first: list[str], later: list[str], token: str, prefix: bool
) -> None:
    """What a process learns from other processes' saves, after its buckets were built."""
    growing = lexicon_of(*first)
    growing.corrections(token, prefix=prefix, limit=EVERYTHING)  # builds the buckets it uses
    growing.add(later)
    at_once = lexicon_of(*first, *later)
    assert sorted(growing.corrections(token, prefix=prefix, limit=EVERYTHING)) == sorted(
        at_once.corrections(token, prefix=prefix, limit=EVERYTHING)
    )


def test_each_kind_of_typo_is_corrected() -> None:
    lexicon = lexicon_of("python", "loops", "photosynthesis", "planet")
    for typo in ("pythan", "pythoon", "pythn", "pyhton"):  # substitution, insertion, deletion, swap
        assert lexicon.corrections(typo, prefix=False, limit=6) == ["python"], typo
    assert lexicon.corrections("loosp", prefix=False, limit=6) == ["loops"]
    # Two typos from 9 letters on (a deletion and a swap), not three.
    assert lexicon.corrections("photsyntehsis", prefix=False, limit=6) == ["photosynthesis"]
    assert lexicon.corrections("photsyntehsi", prefix=False, limit=6) == []


def test_the_last_word_is_corrected_as_a_prefix() -> None:
    lexicon = lexicon_of("photosynthesis", "photograph", "python", "pythonic")
    assert lexicon.corrections("photsy", prefix=True, limit=6) == ["photosy"]
    # Two typos from 9 letters on: the shortest prefix within them covers the rest.
    assert lexicon.corrections("photosyntn", prefix=True, limit=6) == ["photosyn"]
    assert lexicon.corrections("pyhto", prefix=True, limit=6) == ["pytho"]
    # Already a prefix as typed: only shorter spellings are new ("photo" may be "phot" + typo).
    assert lexicon.corrections("photo", prefix=True, limit=6) == ["phot"]


def test_short_words_first_letters_and_far_words_are_not_corrected() -> None:
    lexicon = lexicon_of("loops", "lops", "python")
    assert lexicon.corrections("lopp", prefix=False, limit=6) == []  # 4 letters: no typo
    assert lexicon.corrections("lopp", prefix=True, limit=6) == []
    assert lexicon.corrections("bython", prefix=False, limit=6) == []  # first letter
    assert lexicon.corrections("pxthxn", prefix=False, limit=6) == []  # two typos in 6 letters
    assert lexicon.corrections("123456789", prefix=False, limit=6) == []  # numbers: exact only


def test_closest_first_and_limited() -> None:
    lexicon = lexicon_of("planes", "planet", "plants", "plane", "planets")
    # Fewest typos first, then the closest length, then alphabetical.
    assert lexicon.corrections("planes", prefix=False, limit=2) == ["planet", "plants"]
    assert lexicon.corrections("planez", prefix=False, limit=6) == ["planes", "planet", "plane"]


def test_only_plain_words_of_four_to_forty_letters_are_kept() -> None:
    lexicon = TypoLexicon()
    assert lexicon.add(["e-mail", "cat", "x" * 41, "python", "python"]) == 1
    assert len(lexicon) == 1 and "python" in lexicon and "e-mail" not in lexicon
