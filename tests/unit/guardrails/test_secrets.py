"""Secret detectors: provider keys, PEM blocks, JWTs, generic credentials and the documented non-secrets."""

from __future__ import annotations

import base64
import json

import pytest

from services.guardrails.detectors.engine import detect


def _jwt() -> str:
    def seg(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg({'sub': '42', 'iat': 1700000000})}.Q2xhc3NpY1NpZ25hdHVyZTEyMzQ1"


_ALNUM = "Zk8Qw2Lm5Np7Rt9Vw1Yb3Cd6Fg0Hj4Kl8Mn2Pq5Rs7Tu9Vx1Ab3Cd5Ef7Gh9"
_PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Zk8Qw2Lm5Np7Rt9Vw1"
CASES: list[tuple[str, list[tuple[str, str]]]] = [
    (f"OPENAI_API_KEY=sk-proj-{_ALNUM[:40]}", [(f"sk-proj-{_ALNUM[:40]}", "OPENAI_KEY")]),
    (f"key sk-{_ALNUM[:48]} here", [(f"sk-{_ALNUM[:48]}", "OPENAI_KEY")]),
    (f"claude: sk-ant-api03-{_ALNUM}AA", [(f"sk-ant-api03-{_ALNUM}AA", "ANTHROPIC_KEY")]),
    (f"maps AIza{_ALNUM[:35]};", [(f"AIza{_ALNUM[:35]}", "GOOGLE_API_KEY")]),
    (
        f"AKIA2E0A8F3B244C9986 / {_ALNUM[:40]}",
        [("AKIA2E0A8F3B244C9986", "AWS_ACCESS_KEY"), (_ALNUM[:40], "AWS_SECRET_KEY")],
    ),
    (
        f"aws_secret_access_key = {_ALNUM[1:41]}",
        [(_ALNUM[1:41], "AWS_SECRET_KEY")],
    ),
    (f"token ghp_{_ALNUM[:36]}", [(f"ghp_{_ALNUM[:36]}", "GITHUB_TOKEN")]),
    (f"stripe sk_live_{_ALNUM[:24]}", [(f"sk_live_{_ALNUM[:24]}", "STRIPE_KEY")]),
    (
        "xoxb-2847561093-5829104736-Qw8Er7Ty6Ui5Op4As3Df2Gh1",
        [("xoxb-2847561093-5829104736-Qw8Er7Ty6Ui5Op4As3Df2Gh1", "SLACK_TOKEN")],
    ),
    (
        "hook https://hooks.slack.com/services/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",
        [("https://hooks.slack.com/services/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", "SLACK_TOKEN")],
    ),
    ("whsec_Mk2Lq8Zx7Rt4Vw1Yb3Cd6Fg0Hj4Kl8Np", [("whsec_Mk2Lq8Zx7Rt4Vw1Yb3Cd6Fg0Hj4Kl8Np", "STRIPE_KEY")]),
    (
        f"-----BEGIN RSA PRIVATE KEY-----\n{_PEM_BODY}\n-----END RSA PRIVATE KEY-----\nthanks",
        [(f"-----BEGIN RSA PRIVATE KEY-----\n{_PEM_BODY}\n-----END RSA PRIVATE KEY-----", "PRIVATE_KEY")],
    ),
    (
        '{"key": "-----BEGIN PRIVATE KEY-----\\n' + _PEM_BODY + '\\n-----END PRIVATE KEY-----\\n"}',
        [("-----BEGIN PRIVATE KEY-----\\n" + _PEM_BODY + "\\n-----END PRIVATE KEY-----", "PRIVATE_KEY")],
    ),
    (f"Bearer {_jwt()}", [(_jwt(), "JWT")]),
    ("ADMIN_PASS='Quartz_tundra4253?'  # move to vault", [("Quartz_tundra4253?", "GENERIC_SECRET")]),
    (
        "DATABASE_URL=postgres://app:Vq8#tLm2Zr@db.internal:5432/prod",
        [("Vq8#tLm2Zr", "GENERIC_SECRET")],
    ),
    ('{"client_secret": "9f8Kq2LmZx7Rt4Vw1Yb3Cd6Fg0Hj"}', [("9f8Kq2LmZx7Rt4Vw1Yb3Cd6Fg0Hj", "GENERIC_SECRET")]),
    (
        "hf token hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        [("hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "GENERIC_SECRET")],
    ),
    ("the wifi password is Sunfl0wer!92", [("Sunfl0wer!92", "GENERIC_SECRET")]),
    # not secrets
    ("export OPENAI_API_KEY=${OPENAI_API_KEY}", []),
    ("key: sk-proj-...a1b2 (masked)", []),
    ("placeholder sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", []),
    ("AWS example AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", []),
    ("example ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", []),
    ("db_password = 'changeme'", []),
    ("pk_live_51HqK2LmZx7Rt4Vw1Yb3Cd6Fg is publishable", []),
    ('integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"', []),
    ("id 3f2504e0-4f89-11d3-9a0c-0305e82c3301", []),
    ("git sha 9fceb02d0ae598e95dc970b74767f19372d61af8 merged", []),
    ("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtkFjsH\n-----END PUBLIC KEY-----", []),
    ("max_tokens=4096, token_count: 1200", []),
    ("img data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_secret_cases(text: str, expected: list[tuple[str, str]]) -> None:
    got = sorted((text[s.start : s.end], s.type) for s in detect(text, pii=False))
    assert got == sorted(expected)


def test_provider_keys_alias_api_key_but_passwords_do_not() -> None:
    text = f"ghp_{_ALNUM[:36]} and password='Quartz_tundra4253?'"
    flags = {text[s.start : s.end][:4]: s.api_key for s in detect(text)}
    assert flags == {"ghp_": True, "Quar": False}


def test_secret_wins_over_email_inside_connection_string() -> None:
    text = "mongodb://svc:Vq8tLm2Zr@cluster0.mongodb.net/db"
    assert [s.type for s in detect(text)] == ["GENERIC_SECRET"]
