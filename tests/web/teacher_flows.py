"""What a teacher does in the browser, step by step, by the accessible names of
../shared/UI.md: shared by the teacher pages' tests and the whole-game test."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from playwright.async_api import Page, expect

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Teacher:
    username: str
    email: str
    password: str = PASSWORD


def new_teacher() -> Teacher:
    name = "t" + uuid.uuid4().hex[:10]
    return Teacher(username=name, email=f"{name}@example.org")


async def register(page: Page, teacher: Teacher | None = None) -> Teacher:
    """Sign up on /register; lands signed in on the quiz list."""
    teacher = teacher or new_teacher()
    await page.goto("/register")
    await page.get_by_role("textbox", name="Email").fill(teacher.email)
    await page.get_by_role("textbox", name="Username").fill(teacher.username)
    await page.get_by_label("Password", exact=True).fill(teacher.password)
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(re.compile(r"/quizzes$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("My quizzes")
    return teacher


async def sign_in(page: Page, login: str, password: str) -> None:
    """Fill and send the first step of /login (the caller checks where it leads)."""
    await page.goto("/login")
    await page.get_by_role("textbox", name="Email or username").fill(login)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def create_sample_quiz(page: Page) -> None:
    """On an empty /quizzes: one click makes the sample quiz of all seven types."""
    await page.get_by_role("button", name="Create a sample quiz").click()
    quizzes = page.get_by_role("list", name="My quizzes")
    await expect(quizzes.get_by_role("listitem")).to_have_count(1)
    await expect(quizzes).to_contain_text("7 questions")
