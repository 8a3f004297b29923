"""Nickname control (SPEC §5): normalisation, form, policy, and every mode over real sockets.

The pure half pins `normalize_nickname`, `nickname_key` and `accept_nickname`,
with hypothesis properties for the normaliser. The socket half plays trolls
against the shared server: invisible characters, look-alike spellings, names
off the class list, profanity with leetspeak and spacing tricks, and rerolls
of generated names beyond the limit or outside the lobby. None of these
refusals counts as a failure against the client address, so the shared
server is safe to use.
"""

from __future__ import annotations

import asyncio
import unicodedata
from typing import Any

import pytest
from aiohttp import ClientSession
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classquiz.errors import Refusal
from classquiz.game import nicknames
from classquiz.game.nicknames import (
    NicknamePolicy,
    accept_nickname,
    generate_nickname,
    is_profane,
    nickname_key,
    normalize_nickname,
)
from tests.support.live import SocketGroup, create_game
from tests.support.users import ApiUser

PACE_S = 0.12  # under the per-socket event limit of 10 a second

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
BIDI = ["\u202a", "\u202b", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f"]
CONTROL = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u0090"]
BLANK_FILLERS = ["\u3164", "\u115f", "\u2800", "\uffa0"]
REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn"}


def refused(raw: Any, policy: NicknamePolicy | None = None) -> str:
    """The refusal code of `raw` under `policy` (fails the test if it is accepted)."""
    with pytest.raises(Refusal) as info:
        accept_nickname(raw, policy or NicknamePolicy())
    assert info.value.message and info.value.message != info.value.code
    return info.value.code


# -- normalisation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "display"),
    [
        ("Ada", "Ada"),
        ("  Ada   Lovelace  ", "Ada Lovelace"),
        ("Ada\tLove\nlace", "Ada Love lace"),
        ("Ｆｕｌｌ Ｗｉｄｔｈ", "Full Width"),  # NFKC folds full-width forms
        ("ﬁsh", "fish"),  # ligature
        ("Zoe\u0308", "Zoë"),  # combining diaeresis composes
        ("x²", "x2"),
        ("Ada\u3000Lovelace", "Ada Lovelace"),  # ideographic space
        ("\u00a0Ada\u00a0", "Ada"),  # no-break spaces trimmed
    ],
)
def test_normalize_nfkc_trim_collapse(raw: str, display: str) -> None:
    assert normalize_nickname(raw) == display


@pytest.mark.parametrize("bad", ZERO_WIDTH + BIDI + CONTROL + BLANK_FILLERS)
def test_invisible_bidi_and_control_characters_are_refused(bad: str) -> None:
    for raw in (f"Ada{bad}", f"{bad}Ada", f"A{bad}da", bad):
        with pytest.raises(Refusal) as info:
            normalize_nickname(raw)
        assert info.value.code == "nickname_invalid"
        assert refused(raw) == "nickname_invalid"


def test_nickname_key_is_case_insensitive() -> None:
    assert nickname_key("ADA") == nickname_key("ada") == nickname_key("Ada")
    assert nickname_key("STRASSE") == nickname_key("straße")
    assert nickname_key(normalize_nickname("ＡＤＡ")) == nickname_key("ada")
    assert nickname_key("Ada") != nickname_key("Ada2")


# -- form: length and charset ---------------------------------------------------------------------


def test_length_bounds_after_normalisation() -> None:
    policy = NicknamePolicy(min_length=3, max_length=5)
    assert accept_nickname("Bob", policy) == "Bob"
    assert accept_nickname("  Bobby   ", policy) == "Bobby"  # spaces do not count
    assert refused("Bo", policy) == "nickname_invalid"
    assert refused("Bobbie", policy) == "nickname_invalid"
    assert refused("   B   ", policy) == "nickname_invalid"
    default = NicknamePolicy()
    assert accept_nickname("x" * 20, default) == "x" * 20
    assert refused("x" * 21, default) == "nickname_invalid"


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n", 42, ["Ada"], {"n": "Ada"}, True])
def test_missing_empty_or_non_text_nicknames(raw: Any) -> None:
    assert refused(raw) == "nickname_invalid"


def test_charsets() -> None:
    letters = NicknamePolicy(charset="letters_digits")
    spaced = NicknamePolicy(charset="letters_digits_space")
    assert accept_nickname("Ada42", letters) == "Ada42"
    assert accept_nickname("Zoë", letters) == "Zoë"  # letters of any script
    assert accept_nickname("Мария", letters) == "Мария"
    assert refused("Ada Lovelace", letters) == "nickname_invalid"
    assert accept_nickname("Ada Lovelace", spaced) == "Ada Lovelace"
    for raw in ("Ada!", "Ada_1", "<b>Ada</b>", "Ada😀", "=SUM(A1)"):
        assert refused(raw, letters) == "nickname_invalid"
        assert refused(raw, spaced) == "nickname_invalid"
    assert accept_nickname("Ada 😀", NicknamePolicy(charset="any")) == "Ada 😀"


# -- policy: blocklist, profanity, roster ---------------------------------------------------------


def test_blocklist_after_normalisation_and_case_folding() -> None:
    policy = NicknamePolicy(blocklist=("Voldemort", "Mr  Smith"))
    for raw in ("Voldemort", "VOLDEMORT", "  voldemort ", "Ｖｏｌｄｅｍｏｒｔ", "mr smith"):
        assert refused(raw, policy) == "nickname_not_allowed"
    assert accept_nickname("Harry", policy) == "Harry"
    # a blocked word is refused inside a longer name too (audit finding 16)
    assert refused("Voldemort2", policy) == "nickname_not_allowed"


def test_blocklist_catches_spacing_tricks() -> None:
    policy = NicknamePolicy(blocklist=("bad",), filter_profanity=False)
    for raw in ("b.a.d", "B A D", "b-a-d", "b_a_d", "b*a*d"):
        assert refused(raw, policy) == "nickname_not_allowed", raw


@pytest.mark.parametrize(
    "raw",
    [
        "xxBadWordxx",
        "badword",
        "BADWORD",
        "TheBadWord",
        "badword99",
        "Ｂａｄｗｏｒｄ",  # full width
        "xx b.a.d.w.o.r.d xx",  # separators
        "Bad Word",
        "bad_word_",
        "b4dw0rd",  # look-alikes
        "8adword".replace("8", "b"),
        "bädwörd",  # accents
        "baaadwooord",  # repeated letters
        "my-BAD-w0rd!",
    ],
)
def test_a_blocked_word_is_refused_inside_a_name(raw: str) -> None:
    """Audit finding 16: the host's blocklist bans a word anywhere in the canonical name."""
    policy = NicknamePolicy(blocklist=("badword",), filter_profanity=False)
    assert refused(raw, policy) == "nickname_not_allowed", raw


@pytest.mark.parametrize("name", ["Bad", "Word", "Wordsmith", "Badger", "Ada", "bad wolf"])
def test_names_without_the_blocked_word_pass(name: str) -> None:
    policy = NicknamePolicy(blocklist=("badword", "  ", "..."), filter_profanity=False)
    assert accept_nickname(name, policy) == name


def test_a_blocklist_of_several_words_and_spellings() -> None:
    policy = NicknamePolicy(blocklist=("Mr Smith", "Ｊｏｈｎｎｙ", "x.y.z"), filter_profanity=False)
    for raw in ("ImMrSmith", "mr.smith.fan", "johnny5", "JOHNNY B", "aXYZb"):
        assert refused(raw, policy) == "nickname_not_allowed", raw
    for raw in ("Mr Jones", "John", "x y"):
        assert accept_nickname(raw, policy) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "shit",
        "SHIT",
        "ShIt",
        "sh1t",
        "5h1t",
        "$h1t",
        "sh!t",
        "b!tch",
        "s.h.i.t",
        "s h i t",
        "s-h-i-t",
        "s_h_i_t",
        "s,h,i,t",
        "s+h+i+t",
        "f*ck",
        "f u c k",
        "fück",
        "shiiiit",
        "Sh1t Head",
        "ｓｈｉｔ",
        "@ss",
    ],
)
def test_profanity_with_leetspeak_and_spacing_tricks(raw: str) -> None:
    assert refused(raw) == "nickname_not_allowed"


@pytest.mark.parametrize(
    "name",
    [
        "Ada Lovelace",
        "Cassandra",
        "Scunthorpe",
        "Assassin",
        "Sussex",
        "Therapist",
        "Peacock",
        "Hello Kitty",
        "Grape",
        "Shiitake",
        "Titus",
        "Analyn",
    ],
)
def test_ordinary_names_pass_the_profanity_filter(name: str) -> None:
    assert accept_nickname(name, NicknamePolicy()) == name


def test_profanity_filter_can_be_switched_off() -> None:
    assert accept_nickname("sh1t", NicknamePolicy(filter_profanity=False)) == "sh1t"


def test_roster_accepts_listed_names_with_the_roster_spelling() -> None:
    policy = NicknamePolicy(mode="roster", roster=("Ada Lovelace", "Zoë Ñúñez", "Grace Hopper"))
    assert accept_nickname("ada   lovelace", policy) == "Ada Lovelace"
    assert accept_nickname("  ADA LOVELACE ", policy) == "Ada Lovelace"
    assert accept_nickname("zoe\u0308 ñúñez", policy) == "Zoë Ñúñez"  # decomposed input
    assert refused("Alan Turing", policy) == "nickname_not_allowed"
    assert refused("Ada", policy) == "nickname_not_allowed"
    assert refused("Ada\u200bLovelace", policy) == "nickname_invalid"
    assert refused(None, policy) == "nickname_invalid"


def test_every_generated_name_is_friendly_and_passes_the_filters() -> None:
    policy = NicknamePolicy()
    for adjective in nicknames._ADJECTIVES:
        for animal in nicknames._ANIMALS:
            name = f"{adjective} {animal}"
            assert not is_profane(name), name
            assert accept_nickname(name, policy) == name
    for attempt in range(4):
        name = generate_nickname(attempt)
        words = name.split(" ")
        assert words[0] in nicknames._ADJECTIVES and words[1] in nicknames._ANIMALS
        assert len(name) <= 20
    # generated mode ignores whatever the client sent, even a rude one
    generated = NicknamePolicy(mode="generated")
    assert accept_nickname("sh1t", generated).split(" ")[0] in nicknames._ADJECTIVES


# -- hypothesis properties of the normaliser ------------------------------------------------------

ANY_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
) | st.lists(
    st.sampled_from(
        ["a", "Ä", "ß", " ", "\t", "\u3000", "\u0301", "ﬁ", "Ｆ", "\u200b", "\u202e", "\x00", "İ"]
    ),
    max_size=20,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_normalize_is_idempotent_and_never_returns_invisible_characters(raw: str) -> None:
    try:
        display = normalize_nickname(raw)
    except Refusal as exc:
        assert exc.code == "nickname_invalid"
        return
    assert normalize_nickname(display) == display
    assert display == display.strip()
    assert "  " not in display
    for char in display:
        assert unicodedata.category(char) not in REFUSED_CATEGORIES, repr(char)
        assert char not in BLANK_FILLERS
        assert char == " " or not char.isspace(), repr(char)
    assert unicodedata.normalize("NFKC", display) == display


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_accept_nickname_either_accepts_a_clean_name_or_refuses_with_a_spec_code(
    raw: str,
) -> None:
    policy = NicknamePolicy(max_length=40)
    try:
        display = accept_nickname(raw, policy)
    except Refusal as exc:
        assert exc.code in ("nickname_invalid", "nickname_not_allowed")
        return
    assert 1 <= len(display) <= 40
    assert accept_nickname(display, policy) == display


CASED = st.text(
    alphabet=st.characters(
        categories=("Lu", "Ll", "Nd", "Zs"), max_codepoint=0x04FF, exclude_characters="İı"
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(CASED)
def test_nickname_key_ignores_case(raw: str) -> None:
    variants = {raw, raw.upper(), raw.lower(), raw.swapcase(), raw.title()}
    keys = set()
    for variant in variants:
        try:
            keys.add(nickname_key(normalize_nickname(variant)))
        except Refusal:
            return  # e.g. only spaces
    assert len(keys) == 1, (raw, keys)


# -- over real sockets ----------------------------------------------------------------------------


def player_auth(pin: str, nickname: Any = None, **auth: Any) -> dict[str, Any]:
    """A player's handshake `auth`: the PIN, the nickname when there is one, and more."""
    data = {"pin": pin, **auth}
    if nickname is not None:
        data["nickname"] = nickname
    return data


async def test_free_mode_normalises_and_keeps_names_unique_case_insensitively(
    user: ApiUser, sockets: SocketGroup, http: ClientSession
) -> None:
    game = await create_game(user, first=1, settings={})
    pin = game["pin"]
    host = await sockets.host(game)
    _, welcome = await sockets.join(player_auth(pin, "  Ada    Lovelace "))
    assert welcome["player"]["nickname"] == "Ada Lovelace"
    joined = await host.wait("player_joined")
    assert joined["player"]["nickname"] == "Ada Lovelace"
    for clash in ("ada lovelace", "ADA LOVELACE", "Ａｄａ Lovelace", "ada\tlovelace"):
        error = await sockets.refusal(player_auth(pin, clash))
        assert error["code"] == "nickname_taken", (clash, error)
        assert "taken" in error["message"]
    _, welcome = await sockets.join(player_auth(pin, "Ｂｏｂ"))
    assert welcome["player"]["nickname"] == "Bob"
    async with http.get(f"/api/v1/games/{pin}") as resp:
        info = await resp.json()
    assert info["nicknames"] == {
        "mode": "free",
        "min_length": 1,
        "max_length": 20,
        "charset": "any",
        "roster_available": None,
    }


async def test_form_refusals_over_sockets(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(
        user,
        first=1,
        settings={"nicknames": {"min_length": 3, "max_length": 8, "charset": "letters_digits"}},
    )
    pin = game["pin"]
    cases = [
        "Ada\u200b",  # zero-width space
        "\u202eadA",  # right-to-left override
        "Ad\u2066a",  # bidi isolate
        "Ada\x07",  # bell
        "Ada\u3164",  # Hangul filler: renders blank
        "Al",  # too short
        "Alexandria",  # too long
        "Ada L",  # space not in the charset
        "Ada!",  # punctuation not in the charset
        "",  # empty
        "     ",  # blank
    ]
    for nickname in cases:
        error = await sockets.refusal(player_auth(pin, nickname))
        assert error["code"] == "nickname_invalid", (nickname, error)
        assert len(error["message"]) > 10 and error["message"] != error["code"]
    for nickname in (42, ["Ada"], {"x": 1}, True):
        error = await sockets.refusal(player_auth(pin, nickname))
        assert error["code"] == "nickname_invalid", (nickname, error)
    error = await sockets.refusal(player_auth(pin))  # no nickname at all in free mode
    assert error["code"] == "nickname_invalid"
    _, welcome = await sockets.join(player_auth(pin, "Ada42"))
    assert welcome["player"]["nickname"] == "Ada42"


async def test_blocklist_and_profanity_over_sockets(user: ApiUser, sockets: SocketGroup) -> None:
    game = await create_game(user, first=1, settings={"nicknames": {"blocklist": ["Voldemort"]}})
    pin = game["pin"]
    for nickname in ("Voldemort", "VOLDEMORT", " voldemort ", "sh1t", "s.h.i.t", "S H I T"):
        error = await sockets.refusal(player_auth(pin, nickname))
        assert error["code"] == "nickname_not_allowed", (nickname, error)
        assert error["message"] != error["code"]
    _, welcome = await sockets.join(player_auth(pin, "Harry"))
    assert welcome["player"]["nickname"] == "Harry"

    blocked = await create_game(user, first=1, settings={"nicknames": {"blocklist": ["badword"]}})
    for nickname in ("xxBadWordxx", "the b4d w0rd", "ＢＡＤＷＯＲＤ1"):
        error = await sockets.refusal(player_auth(blocked["pin"], nickname))
        assert error["code"] == "nickname_not_allowed", (nickname, error)
    _, welcome = await sockets.join(player_auth(blocked["pin"], "Badger"))
    assert welcome["player"]["nickname"] == "Badger"

    relaxed = await create_game(user, first=1, settings={"nicknames": {"filter_profanity": False}})
    _, welcome = await sockets.join(player_auth(relaxed["pin"], "sh1t"))
    assert welcome["player"]["nickname"] == "sh1t"


async def test_roster_mode_over_sockets(
    user: ApiUser, sockets: SocketGroup, http: ClientSession
) -> None:
    roster = ["Ada Lovelace", "Grace Hopper", "Zoë Ñúñez"]
    game = await create_game(
        user, first=1, settings={"nicknames": {"mode": "roster", "roster": roster}}
    )
    pin = game["pin"]
    host = await sockets.host(game)
    _, welcome = await sockets.join(player_auth(pin, "ada  lovelace"))
    assert welcome["player"]["nickname"] == "Ada Lovelace"
    joined = await host.wait("player_joined")
    assert joined["player"]["nickname"] == "Ada Lovelace"
    _, welcome = await sockets.join(player_auth(pin, "ZOE\u0308 ÑÚÑEZ"))
    assert welcome["player"]["nickname"] == "Zoë Ñúñez"
    error = await sockets.refusal(player_auth(pin, "ADA LOVELACE"))  # each roster name once
    assert error["code"] == "nickname_taken"
    error = await sockets.refusal(player_auth(pin, "Alan Turing"))
    assert error["code"] == "nickname_not_allowed"
    assert "list" in error["message"]
    error = await sockets.refusal(player_auth(pin, "Grace\u200bHopper"))
    assert error["code"] == "nickname_invalid"
    # the host's view lists the roster spellings; the PIN look-up lists only the names
    # still free, for the phone's picker (docs/security.md, "The roster picker")
    second = await sockets.host(game)
    names = {p["nickname"] for p in (await second.wait("welcome"))["game"]["players"]}
    assert names == {"Ada Lovelace", "Zoë Ñúñez"}
    async with http.get(f"/api/v1/games/{pin}") as resp:
        info = await resp.json()
    assert info["nicknames"]["mode"] == "roster"
    assert info["nicknames"]["roster_available"] == ["Grace Hopper"]


async def test_generated_mode_with_three_rerolls_then_limit_reached(
    user: ApiUser, sockets: SocketGroup
) -> None:
    game = await create_game(user, first=1, settings={"nicknames": {"mode": "generated"}})
    pin = game["pin"]
    host = await sockets.host(game)
    player, welcome = await sockets.join(player_auth(pin))  # no nickname in generated mode
    first = welcome["player"]["nickname"]
    adjective, animal = first.split(" ")[:2]
    assert adjective in nicknames._ADJECTIVES and animal in nicknames._ANIMALS
    _, other = await sockets.join(player_auth(pin, "sh1t"))  # a sent nickname is ignored
    assert other["player"]["nickname"].split(" ")[0] in nicknames._ADJECTIVES
    seen = [first]
    for _ in range(3):
        await asyncio.sleep(PACE_S)
        ack = await player.call("reroll_nickname")
        assert ack["ok"] is True, ack
        assert ack["nickname"] != seen[-1]
        assert ack["nickname"].split(" ")[0] in nicknames._ADJECTIVES
        seen.append(ack["nickname"])
    await asyncio.sleep(PACE_S)
    ack = await player.call("reroll_nickname")
    assert ack["ok"] is False and ack["error"]["code"] == "limit_reached", ack
    renamed = await host.wait("player_renamed", count=3)
    assert renamed["player"]["nickname"] == seen[-1]
    # a second host screen (it takes over) lists the last name; the returning player keeps it
    host = await sockets.host(game)
    players = (await host.wait("welcome"))["game"]["players"]
    names = {p["player_id"]: p["nickname"] for p in players}
    assert names[welcome["player"]["player_id"]] == seen[-1]
    back = sockets.client()
    await back.connect({"player_token": welcome["player"]["player_token"]})
    assert (await back.wait("welcome"))["player"]["nickname"] == seen[-1]
    # outside the lobby: wrong_state
    _, fresh = await sockets.join(player_auth(pin))
    fresh_socket = sockets.clients[-1]
    assert (await host.call("start_game"))["ok"]
    await fresh_socket.wait("question_started")
    ack = await fresh_socket.call("reroll_nickname")
    assert ack["ok"] is False and ack["error"]["code"] == "wrong_state", ack
    assert fresh["player"]["nickname"]


async def test_reroll_in_a_game_without_generated_names(
    user: ApiUser, sockets: SocketGroup
) -> None:
    for settings_ in ({}, {"nicknames": {"mode": "roster", "roster": ["Ada"]}}):
        game = await create_game(user, first=1, settings=settings_)
        player, welcome = await sockets.join(player_auth(game["pin"], "Ada"))
        ack = await player.call("reroll_nickname")
        assert ack["ok"] is False and ack["error"]["code"] == "wrong_state", ack
        assert welcome["player"]["nickname"] == "Ada"
