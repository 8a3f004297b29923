"""Registered, logged-in API users for tests."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import ClientSession


class ApiUser:
    """A registered, logged-in user with a bearer token, for tests."""

    def __init__(
        self, http: ClientSession, username: str, email: str, password: str, token: str
    ) -> None:
        self.http = http
        self.username = username
        self.email = email
        self.password = password
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        async with self.http.request(method, path, headers=headers, **kwargs) as resp:
            body = (
                await resp.json() if resp.content_type == "application/json" else await resp.read()
            )
            return resp.status, body


async def register_user(http: ClientSession, password: str = "correct horse battery") -> ApiUser:
    """A new account with a random name, registered and logged in through the real API."""
    name = "u" + uuid.uuid4().hex[:10]
    email = f"{name}@example.org"
    async with http.post(
        "/api/v1/users/register", json={"email": email, "username": name, "password": password}
    ) as resp:
        assert resp.status == 201, await resp.text()
    async with http.post("/api/v1/users/login", json={"login": name, "password": password}) as resp:
        assert resp.status == 200, await resp.text()
        token = (await resp.json())["access_token"]
    return ApiUser(http, name, email, password, token)


async def user_id(user: ApiUser) -> uuid.UUID:
    """The user's account id, as the API reports it."""
    status, body = await user.request("GET", "/api/v1/users/me")
    assert status == 200
    return uuid.UUID(body["id"])
