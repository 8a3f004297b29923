"""Nickname rules (SPEC §5): normalisation, form checks and the host's policy.

`normalize_nickname` gives the display form (NFKC, trimmed, inner spaces
collapsed); `nickname_key` the uniqueness key (case-folded). Refusals carry the
SPEC's two codes: `nickname_invalid` for the form, `nickname_not_allowed` for policy.
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import better_profanity

from classquiz.errors import Refusal
from classquiz.game.invisible import has_invisible

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class NicknamePolicy:
    mode: str = "free"
    min_length: int = 1
    max_length: int = 20
    charset: str = "any"
    filter_profanity: bool = True
    blocklist: tuple[str, ...] = ()
    roster: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, data: dict[str, Any]) -> NicknamePolicy:
        return cls(
            mode=data.get("mode", "free"),
            min_length=int(data.get("min_length", 1)),
            max_length=int(data.get("max_length", 20)),
            charset=data.get("charset", "any"),
            filter_profanity=bool(data.get("filter_profanity", True)),
            blocklist=tuple(data.get("blocklist") or ()),
            roster=tuple(data.get("roster") or ()),
        )

    @functools.cached_property
    def roster_by_key(self) -> dict[str, str]:
        """Uniqueness key → the roster's own spelling (computed once per game, not per join)."""
        return {nickname_key(normalize_nickname(name)): name for name in self.roster}

    @functools.cached_property
    def blocked(self) -> tuple[str, ...]:
        """The host's blocked words in blocklist form (computed once per game, not per join).

        Words with nothing left in that form (only separators) are dropped: as an
        empty substring they would refuse every name.
        """
        return tuple(sorted({form for form in map(_blocklist_form, self.blocklist) if form}))

    def is_blocked(self, display: str) -> bool:
        """Whether a blocked word occurs anywhere in `display` (compared in blocklist form)."""
        if not self.blocked:
            return False
        form = _blocklist_form(display)
        return any(word in form for word in self.blocked)


def normalize_nickname(raw: str) -> str:
    """The display form; raises Refusal for invisible or control characters."""
    if not isinstance(raw, str):
        raise Refusal("nickname_invalid", "the nickname must be text")
    text = unicodedata.normalize("NFKC", raw)
    if has_invisible(text):
        raise Refusal("nickname_invalid", "the nickname contains invisible or control characters")
    return _SPACES.sub(" ", text).strip()


def nickname_key(display: str) -> str:
    """Uniqueness key: case-insensitive (case folding can leave a decomposed form: NFKC again)."""
    return unicodedata.normalize("NFKC", display.casefold())


def _charset_ok(text: str, charset: str) -> bool:
    if charset == "any":
        return all(ch.isprintable() for ch in text)
    allowed_space = charset == "letters_digits_space"
    return all(ch.isalnum() or (allowed_space and ch == " ") for ch in text)


def check_form(display: str, policy: NicknamePolicy) -> None:
    if not display:
        raise Refusal("nickname_invalid", "the nickname is empty")
    if len(display) < policy.min_length:
        raise Refusal(
            "nickname_invalid", f"the nickname needs at least {policy.min_length} characters"
        )
    if len(display) > policy.max_length:
        raise Refusal(
            "nickname_invalid", f"the nickname may have at most {policy.max_length} characters"
        )
    if not _charset_ok(display, policy.charset):
        what = (
            "letters and digits"
            if policy.charset == "letters_digits"
            else "letters, digits and spaces"
        )
        raise Refusal("nickname_invalid", f"the nickname may only use {what}")


def accept_nickname(raw: Any, policy: NicknamePolicy, attempt: int = 0) -> str:
    """The display nickname a new player gets under `policy`, or Refusal."""
    if policy.mode == "generated":
        return generate_nickname(attempt)
    if raw is None or raw == "":
        raise Refusal("nickname_invalid", "a nickname is required")
    display = normalize_nickname(raw)
    if policy.mode == "roster":
        match = policy.roster_by_key.get(nickname_key(display))
        if match is None:
            raise Refusal("nickname_not_allowed", "this name is not on the class list")
        return normalize_nickname(match)
    check_form(display, policy)
    if policy.is_blocked(display):
        raise Refusal("nickname_not_allowed", "this nickname is not allowed in this game")
    if policy.filter_profanity and is_profane(display):
        raise Refusal("nickname_not_allowed", "please choose a friendlier nickname")
    return display


# Characters trolls put between letters ("s.h.i.t", "s,h,i,t"), and look-alikes they
# swap in ("5h1t", "$hit"). Both the word list and the nickname go through the same
# many-to-one map, so comparing the results catches every mix of look-alikes at once.
_NON_WORD = re.compile(r"[^\w*@]+|_+")
_REPEATS = re.compile(r"(.)\1+")
_LOOKALIKES = str.maketrans(
    {
        "4": "a",
        "l": "i",
        "1": "i",
        "!": "i",
        "|": "i",
        "¡": "i",
        "0": "o",
        "v": "u",
        "3": "e",
        "$": "s",
        "5": "s",
        "7": "t",
    }
)
_WILDCARDS = {"*": "[aeiou]", "@": "[ao]"}  # "f*ck", "@ss"


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def _blocklist_form(text: str) -> str:
    """What the host's blocklist compares: a name with every profanity trick undone.

    NFKC (width, ligatures), then the canonical form of the profanity filter
    (case folded, accents stripped, look-alikes mapped), separators removed and
    repeated letters collapsed. A blocked word is refused wherever its form
    occurs inside a name's form: teachers block a word, not one exact name
    (audit finding 16), so "xxBadWordxx" and "b4d.w0rd" are refused for "badword".
    """
    canonical = _canonical(unicodedata.normalize("NFKC", text))
    return _REPEATS.sub(r"\1", _squash(canonical))


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _canonical(text: str) -> str:
    return _strip_marks(text.casefold()).translate(_LOOKALIKES)


@functools.cache
def _lexicon() -> tuple[frozenset[str], dict[int, tuple[str, ...]]]:
    """better_profanity's maintained word list, in canonical form, loaded once.

    The library's own matcher compares each word with every list entry through
    generated leetspeak variants (about 3 ms a nickname, on the event loop at
    every join); a set of canonical forms answers the same question in
    microseconds.
    """
    wordlist = Path(better_profanity.__file__).with_name("profanity_wordlist.txt")
    words = {
        " ".join(_canonical(line).split())
        for line in wordlist.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    by_length: dict[int, list[str]] = {}
    for word in words:
        by_length.setdefault(len(word), []).append(word)
    return frozenset(words), {n: tuple(ws) for n, ws in by_length.items()}


def _token_is_profane(token: str) -> bool:
    words, by_length = _lexicon()
    if token in words:
        return True
    if any(ch in _WILDCARDS for ch in token):
        pattern = re.compile("".join(_WILDCARDS.get(ch, re.escape(ch)) for ch in token))
        return any(pattern.fullmatch(word) for word in by_length.get(len(token), ()))
    return False


def is_profane(display: str) -> bool:
    """Profanity, also spelled with look-alikes, separators, accents or repeated letters."""
    canonical = _canonical(display)
    tokens = [t for t in _NON_WORD.split(canonical) if t]
    squashed = "".join(tokens)
    candidates = set(tokens) | {squashed, _REPEATS.sub(r"\1", squashed)}
    candidates |= {_REPEATS.sub(r"\1", t) for t in tokens}
    # multi-word entries of the list ("two words")
    candidates |= {" ".join(tokens[i : i + n]) for n in (2, 3) for i in range(len(tokens) - n + 1)}
    return any(_token_is_profane(token) for token in candidates if token)


_ADJECTIVES = (
    "Brave",
    "Calm",
    "Clever",
    "Curious",
    "Eager",
    "Gentle",
    "Happy",
    "Jolly",
    "Kind",
    "Lively",
    "Lucky",
    "Mighty",
    "Nimble",
    "Polite",
    "Proud",
    "Quick",
    "Quiet",
    "Shiny",
    "Sunny",
    "Swift",
    "Witty",
    "Bold",
    "Bright",
    "Cosy",
    "Daring",
    "Fuzzy",
    "Golden",
    "Merry",
    "Noble",
    "Zesty",
)
_ANIMALS = (
    "Otter",
    "Panda",
    "Falcon",
    "Badger",
    "Koala",
    "Dolphin",
    "Fox",
    "Heron",
    "Lynx",
    "Owl",
    "Puffin",
    "Rabbit",
    "Seal",
    "Tiger",
    "Turtle",
    "Whale",
    "Wombat",
    "Yak",
    "Zebra",
    "Beaver",
    "Camel",
    "Eagle",
    "Gecko",
    "Hedgehog",
    "Ibis",
    "Jaguar",
    "Lemur",
    "Moose",
    "Newt",
    "Penguin",
)


def generate_nickname(attempt: int = 0) -> str:
    """A friendly two-word name; after a few collisions a number keeps big games unique."""
    name = f"{secrets.choice(_ADJECTIVES)} {secrets.choice(_ANIMALS)}"
    if attempt >= 2:
        name = f"{name} {10 + secrets.randbelow(990)}"
    return name
