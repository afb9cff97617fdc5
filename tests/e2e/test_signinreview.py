"""Adversarial review of issue 12 (sign-in): attacks that work today, written as failing tests.

The threat: someone holds one of a person's sessions that has NOT shown a second factor (a stolen
cookie, or a sign-in through a compromised GitHub/Google account — the first factor only). The
product promises that owners and admins need a second factor before privileged actions. These
tests show that such a session can enrol a second factor of the attacker's own even though the
person already has one, and thereby act as admin.
"""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
import httpx
import pyotp

from tests.softauthn import SoftAuthenticator
from tests.stack import Stack

COOKIE = "bastion_session"


def _second_session(stack: Stack, user: str, org: str) -> str:
    """Another session of ``user`` without a second factor (what an OAuth sign-in opens)."""
    from libs.crypto import apikeys

    secret = apikeys.generate_session_secret()

    async def make() -> None:
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            await conn.fetchval(
                "SELECT id FROM auth.start_session($1, $2, $3, $4, 'oauth:github', '', '', "
                "now() + interval '1 hour', false)",
                f"ses_{user}_{time.time_ns()}", apikeys.lookup_digest(stack.pepper, secret), user, org)  # fmt: skip
        finally:
            await conn.close()

    asyncio.run(make())
    stack.created_secrets.append(secret)
    return secret


def _client(stack: Stack, secret: str) -> httpx.Client:
    return httpx.Client(base_url=stack.api, cookies={COOKIE: secret}, timeout=15)


def _enrol_totp(stack: Stack, secret: str) -> str:
    """The person turns TOTP on from their own session; the renewed (mfa) secret."""
    with _client(stack, secret) as http:
        csrf = http.get("/v1/session").json()["csrf_token"]
        seed = http.post("/v1/2fa/totp", headers={"x-csrf-token": csrf})
        assert seed.status_code == 201, seed.text
        stack.created_secrets.append(seed.json()["seed"])
        up = http.post("/v1/session/step-up", json={"code": pyotp.TOTP(seed.json()["seed"]).now()},
                       headers={"x-csrf-token": csrf})  # fmt: skip
        assert up.status_code == 200, up.text
        stack.created_secrets.extend(up.json()["recovery_codes"])
        renewed = up.cookies.get(COOKIE)
        assert renewed
        stack.created_secrets.append(renewed)
        return renewed


def test_a_session_without_the_second_factor_cannot_register_a_passkey_to_get_one(stack: Stack) -> None:
    """Person has TOTP on. Attacker holds a first-factor-only session: registers the attacker's own
    passkey (no step-up asked), signs in with it (passkey sign-in = mfa) and acts as admin."""
    org = stack.new_org("Bypass passkey")
    person = stack.sign_in(org["org"], "admin", mfa=False)
    _enrol_totp(stack, person["secret"])  # the person's real second factor
    stolen = _second_session(stack, person["user"], org["org"])
    attacker = SoftAuthenticator(f"http://localhost:{stack.ports['API']}")
    with _client(stack, stolen) as http:
        csrf = http.get("/v1/session").json()["csrf_token"]
        before = http.post("/v1/projects/", json={"name": "needs-2fa"}, headers={"x-csrf-token": csrf})
        assert before.status_code == 403, before.text  # precondition: this session has no second factor
        started = http.post("/v1/passkeys/options", headers={"x-csrf-token": csrf})
        registered = None
        if started.status_code == 200:
            credential = json.loads(attacker.create(json.dumps(started.json()["options"])))
            registered = http.post("/v1/passkeys/", headers={"x-csrf-token": csrf},
                                   json={"ceremony": started.json()["ceremony"], "credential": credential})  # fmt: skip
    final = None
    if registered is not None and registered.status_code == 201:  # the attack goes on: sign in with it
        with httpx.Client(base_url=stack.api, timeout=15) as browser:
            opts = browser.post("/v1/signin/passkey/options").json()
            assertion = json.loads(attacker.get(json.dumps(opts["options"])))
            landed = browser.post("/v1/signin/passkey/", json={"ceremony": opts["ceremony"], "credential": assertion})
            assert landed.status_code == 303, landed.text
            secret = landed.cookies.get(COOKIE) or ""
            assert secret
            stack.created_secrets.append(secret)
            browser.cookies.clear()
            me = browser.get("/v1/session", cookies={COOKIE: secret}).json()
            final = browser.post("/v1/projects/", json={"name": "attacker-was-here"}, cookies={COOKIE: secret},
                                 headers={"x-csrf-token": me["csrf_token"]})  # fmt: skip
    # adding a factor while one exists must need that factor first
    assert final is None, (
        f"a first-factor-only session added a passkey ({registered.status_code if registered else ''}) and, "
        f"signed in with it, acted as admin: {final.status_code if final else ''}"
    )


def test_a_session_without_the_second_factor_cannot_enrol_totp_when_a_passkey_exists(stack: Stack) -> None:
    """Person uses a passkey as second factor (no TOTP). Attacker holds a first-factor-only
    session: enrols TOTP with a seed of the attacker's, steps up and acts as admin."""
    org = stack.new_org("Bypass totp")
    person = stack.sign_in(org["org"], "admin", mfa=False)
    device = SoftAuthenticator(f"http://localhost:{stack.ports['API']}")
    with _client(stack, person["secret"]) as http:  # the person's own passkey (their second factor)
        csrf = http.get("/v1/session").json()["csrf_token"]
        started = http.post("/v1/passkeys/options", headers={"x-csrf-token": csrf})
        credential = json.loads(device.create(json.dumps(started.json()["options"])))
        made = http.post("/v1/passkeys/", headers={"x-csrf-token": csrf},
                         json={"ceremony": started.json()["ceremony"], "credential": credential})  # fmt: skip
        assert made.status_code == 201, made.text
    stolen = _second_session(stack, person["user"], org["org"])
    with _client(stack, stolen) as http:
        csrf = http.get("/v1/session").json()["csrf_token"]
        assert http.post("/v1/projects/", json={"name": "x"}, headers={"x-csrf-token": csrf}).status_code == 403
        seed = http.post("/v1/2fa/totp", headers={"x-csrf-token": csrf})
        final = None
        if seed.status_code == 201:
            stack.created_secrets.append(seed.json()["seed"])
            up = http.post("/v1/session/step-up", json={"code": pyotp.TOTP(seed.json()["seed"]).now()},
                           headers={"x-csrf-token": csrf})  # fmt: skip
            if up.status_code == 200:
                stack.created_secrets.extend(up.json()["recovery_codes"])
                renewed = up.cookies.get(COOKIE) or ""
                assert renewed
                stack.created_secrets.append(renewed)
                with _client(stack, renewed) as upgraded:
                    final = upgraded.post("/v1/projects/", json={"name": "attacker-was-here"},
                                          headers={"x-csrf-token": up.json()["csrf_token"]})  # fmt: skip
    assert final is None or final.status_code == 403, (
        f"a first-factor-only session enrolled TOTP and then acted as admin: {final.status_code} {final.text}"
    )


def test_totp_guessing_is_limited_per_person(stack: Stack) -> None:
    """A first-factor-only session may guess TOTP codes without any limit: each guess has ~3 in a
    million odds (three accepted steps) and nothing counts the misses, so guesses spread over time
    and addresses (the API's per-address window is the only brake) eventually land. After a few
    dozen wrong codes the person's TOTP must stop answering for a while, even to the right code."""
    org = stack.new_org("Totp guessing")
    person = stack.sign_in(org["org"], "admin", mfa=False)
    with _client(stack, person["secret"]) as http:
        csrf = http.get("/v1/session").json()["csrf_token"]
        seed = http.post("/v1/2fa/totp", headers={"x-csrf-token": csrf})
        assert seed.status_code == 201, seed.text
        stack.created_secrets.append(seed.json()["seed"])
        totp = pyotp.TOTP(seed.json()["seed"])
        up = http.post("/v1/session/step-up", json={"code": totp.now()}, headers={"x-csrf-token": csrf})
        assert up.status_code == 200, up.text
        stack.created_secrets.extend(up.json()["recovery_codes"])
    stolen = _second_session(stack, person["user"], org["org"])
    with _client(stack, stolen) as http:
        csrf = http.get("/v1/session").json()["csrf_token"]
        valid = {totp.at(time.time() + d) for d in (-30, 0, 30)}
        wrong = [f"{n:06d}" for n in range(100) if f"{n:06d}" not in valid][:50]
        for guess in wrong:
            miss = http.post("/v1/session/step-up", json={"code": guess}, headers={"x-csrf-token": csrf})
            assert miss.status_code in {403, 429}, miss.text
        time.sleep(max(0.0, 30 - time.time() % 30) + 0.5)  # a step nobody used yet
        hit = http.post("/v1/session/step-up", json={"code": totp.now()}, headers={"x-csrf-token": csrf})
        if hit.status_code == 200:
            stack.created_secrets.extend(hit.json().get("recovery_codes", []))
    assert hit.status_code != 200, "50 wrong TOTP codes in a row, then the right one is still accepted"


def test_an_owner_without_a_second_factor_cannot_mint_an_api_key(stack: Stack) -> None:
    """Issue 12: owners and admins need a second factor before privileged actions, and a fresh
    confirmation for key operations. ``require(admin, "developer")`` only asks for a factor when
    the *action's* role is admin or above, so an owner's first-factor-only session (a stolen cookie
    or a hijacked GitHub account) mints, rotates and revokes data-plane API keys — secrets that
    outlive the session — without any second factor."""
    org = stack.new_org("Keys without 2fa")
    person = stack.sign_in(org["org"], "owner", mfa=False)
    with _client(stack, person["secret"]) as http:
        csrf = http.get("/v1/session").json()["csrf_token"]
        assert http.post("/v1/projects/", json={"name": "p"}, headers={"x-csrf-token": csrf}).status_code == 403
        made = http.post("/v1/keys/", json={"project_id": org["project"], "name": "exfil"},
                         headers={"x-csrf-token": csrf})  # fmt: skip
        if made.status_code == 201:
            stack.created_secrets.extend(str(v) for k, v in made.json().items() if k in {"key", "secret"})
    assert made.status_code == 403, f"an owner without a second factor minted an API key: {made.status_code}"


def test_the_csrf_token_answer_is_never_cacheable(stack: Stack) -> None:
    """``GET /v1/session`` hands out the CSRF token (and the session id, user and org), and
    ``GET /v1/sessions`` every session's address and user agent, yet neither answer says
    ``Cache-Control: no-store`` (only responses that set a cookie do): a shared cache or CDN in
    front of the API that ignores the Cookie header may keep one person's token and serve it to
    another, and the browser's own cache keeps it after sign-out."""
    org = stack.new_org("Cacheable")
    person = stack.sign_in(org["org"], "viewer")
    with _client(stack, person["secret"]) as http:
        for path in ("/v1/session", "/v1/sessions"):
            answer = http.get(path)
            assert answer.status_code == 200, answer.text
            assert "no-store" in answer.headers.get("cache-control", ""), (path, answer.headers.get("cache-control"))


def test_removing_a_member_ends_their_sessions_for_good(stack: Stack) -> None:
    """Removing a member only makes their sessions *refused while they are not a member*
    (``judge``: member_role NULL); nothing revokes them. Re-adding the person later (same e-mail:
    ``auth.ensure_user`` finds the same account) brings every old session back to life — a cookie
    kept by the removed person (or stolen from them) works again, up to its 12-hour lifetime."""
    org = stack.new_org("Removed member")
    person = stack.sign_in(org["org"], "developer")
    with _client(stack, person["secret"]) as http:
        assert http.get("/v1/session").status_code == 200
    with stack.admin(org["token"]) as owner:
        email = next(m["email"] for m in owner.get("/v1/members/").json()["data"] if m["id"] == person["user"])
        assert owner.delete(f"/v1/members/{person['user']}").status_code == 204
        with _client(stack, person["secret"]) as http:
            assert http.get("/v1/session").status_code == 401
        readded = owner.post("/v1/members/", json={"email": email, "role": "developer"})
        assert readded.status_code == 201, readded.text
        assert readded.json()["id"] == person["user"]
    with _client(stack, person["secret"]) as http:
        revived = http.get("/v1/session")
    assert revived.status_code == 401, f"a session from before the removal works again: {revived.status_code}"


def test_the_totp_seed_answer_is_never_cacheable(stack: Stack) -> None:
    """``POST /v1/2fa/totp`` answers the TOTP seed (shown once) without ``Cache-Control: no-store``
    (only answers that set a cookie get it), so the browser or an intermediary may keep the
    second factor's seed in its cache."""
    org = stack.new_org("Seed cache")
    person = stack.sign_in(org["org"], "developer", mfa=False)
    with _client(stack, person["secret"]) as http:
        csrf = http.get("/v1/session").json()["csrf_token"]
        seed = http.post("/v1/2fa/totp", headers={"x-csrf-token": csrf})
        assert seed.status_code == 201, seed.text
        stack.created_secrets.append(seed.json()["seed"])
    assert "no-store" in seed.headers.get("cache-control", ""), seed.headers.get("cache-control")
