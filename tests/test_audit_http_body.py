"""Audit finding 11: a JSON body that reaches the server in several TCP writes is read whole.

The request is written on a raw socket, headers and the first half of the body
in one write and the rest 100 ms later, the way a slow or congested link
delivers it. Reading only what happened to be buffered used to cut the JSON in
half (400 `invalid_json`).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import orjson

from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser

QUIZZES = "/api/v1/quizzes"


def big_quiz() -> dict[str, Any]:
    """A valid quiz of about 450 kB: 200 questions with long texts and six choices."""
    question = {
        "type": "single",
        "text": "Which of these is right? " + "é" * 470,
        "time_limit_s": 20,
        "choices": [{"text": f"{n} " + "ü" * 140, "correct": n == 0} for n in range(6)],
    }
    return sample_quiz(questions=[question] * 200)


async def send_in_pieces(
    base_url: str, method: str, path: str, headers: dict[str, str], pieces: list[bytes]
) -> tuple[int, Any]:
    """Write `pieces` of the body on a raw socket, 100 ms apart; return status and JSON."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    body_length = sum(len(piece) for piece in pieces)
    head = [f"{method} {path} HTTP/1.1", f"Host: {url.netloc}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    if "Transfer-Encoding" not in headers:
        head.append(f"Content-Length: {body_length}")
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + pieces[0])
        await writer.drain()
        for piece in pieces[1:]:
            await asyncio.sleep(0.1)
            writer.write(piece)
            await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), orjson.loads(payload)


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def test_a_body_written_in_two_pieces_is_read_whole(base_url: str, user: ApiUser) -> None:
    body = orjson.dumps(big_quiz())
    assert 440_000 < len(body) < 1_048_576
    half = len(body) // 2
    headers = {**user.headers, "Content-Type": "application/json"}
    status, out = await send_in_pieces(
        base_url, "POST", QUIZZES, headers, [body[:half], body[half:]]
    )
    assert status == 201, out
    assert out["question_count"] == 200


async def test_a_chunked_body_in_pieces_is_read_whole(base_url: str, user: ApiUser) -> None:
    body = orjson.dumps(big_quiz())
    half = len(body) // 2
    headers = {**user.headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    pieces = [chunked(body[:half]), chunked(body[half:]) + b"0\r\n\r\n"]
    status, out = await send_in_pieces(base_url, "POST", QUIZZES, headers, pieces)
    assert status == 201, out


async def test_a_chunked_body_past_the_limit_is_413(base_url: str, user: ApiUser) -> None:
    """Without a Content-Length the limit is still enforced while reading."""
    filler = b"x" * 600_000
    headers = {**user.headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    pieces = [chunked(b'{"title": "' + filler), chunked(filler + b'"}') + b"0\r\n\r\n"]
    status, out = await send_in_pieces(base_url, "POST", QUIZZES, headers, pieces)
    assert status == 413, out
    assert out["error"]["code"] == "payload_too_large"
