"""The pure rules of sign-in with another provider: which account, where to go after."""

from __future__ import annotations

from classquiz.services.oauth import DEFAULT_NEXT, choose_account, safe_next, username_from
from classquiz.services.oauth_providers import Identity


def identity(email: str | None, verified: bool) -> Identity:
    return Identity(subject="s", email=email, email_verified=verified, username_hint=None)


def test_which_account_an_identity_opens() -> None:
    verified, unverified = identity("a@x.org", True), identity("a@x.org", False)
    # A linked subject opens its account whatever the e-mail says now.
    assert choose_account(unverified, linked=True, email_owner_exists=True) == "linked"
    assert choose_account(identity(None, False), linked=True, email_owner_exists=False) == (
        "linked"
    )
    assert choose_account(verified, False, True, owner_verified=True) == "link_by_email"
    # An account that never proved its address here is not handed over (pre-hijacking).
    assert choose_account(verified, False, True, owner_verified=False) == (
        "refuse_owner_unverified"
    )
    assert choose_account(unverified, False, True, owner_verified=True) == "refuse_unverified"
    assert choose_account(unverified, linked=False, email_owner_exists=True) == (
        "refuse_unverified"
    )
    assert choose_account(verified, linked=False, email_owner_exists=False) == "create"
    assert choose_account(unverified, linked=False, email_owner_exists=False) == "create"
    assert choose_account(identity(None, True), linked=False, email_owner_exists=False) == (
        "refuse_no_email"
    )


def test_after_sign_in_the_browser_stays_on_the_site() -> None:
    assert safe_next("/results/abc?tab=players") == "/results/abc?tab=players"
    for outside in (None, "", "https://evil.example", "//evil.example", "/\\evil", "results"):
        assert safe_next(outside) == DEFAULT_NEXT
    assert safe_next("/a\nSet-Cookie: x") == DEFAULT_NEXT
    assert safe_next("/" + "a" * 600) == DEFAULT_NEXT


def test_usernames_from_what_the_provider_says() -> None:
    assert username_from("Ada Lovelace!", "ada@x.org") == "AdaLovelace"
    assert username_from(None, "grace.hopper@x.org") == "grace.hopper"
    assert username_from("李", "li@x.org") == "userli"
    assert username_from("x" * 40, "x@x.org") == "x" * 24
