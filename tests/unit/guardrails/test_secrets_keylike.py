"""Key-like values named in prose ("my api key is …") are API keys; words, model names and ids are not."""

from __future__ import annotations

import pytest

from services.guardrails.detectors.engine import detect


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("my api key is a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6, can you check it?", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"),
        ("datadog api key: 1f2e3d4c5b6a79881f2e3d4c5b6a7988", "1f2e3d4c5b6a79881f2e3d4c5b6a7988"),
        ("The access token was Zx8Kq2Lm5Np7Rt9Vw1Yb3C.", "Zx8Kq2Lm5Np7Rt9Vw1Yb3C"),
        ("here is the API token - Qm7Vx2Kp9Lr4Ts8Wn3Hb6Jd", "Qm7Vx2Kp9Lr4Ts8Wn3Hb6Jd"),
    ],
)
def test_keys_named_in_prose_are_api_keys(text: str, value: str) -> None:
    got = [(text[s.start : s.end], s.api_key) for s in detect(text)]
    assert got == [(value, True)]


@pytest.mark.parametrize(
    "text",
    [
        "the key is understanding recursion before loops",
        "the primary key is user_id_2024_customer in that table",
        "api key: YOUR_API_KEY_HERE",
        "the token is gpt-4o-mini-2024-07-18 for cheap calls",
        "the api key is in the vault, ask ops",
        "the key is 1234567890123456 digits long",
        "token: <redacted>",
        "the secret key is stored as ${STRIPE_SECRET}",
    ],
)
def test_words_ids_and_placeholders_after_key_words_are_not_keys(text: str) -> None:
    assert detect(text) == []
