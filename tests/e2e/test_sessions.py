"""People's sessions through the whole stack: the management API asks auth over the bus (with
the real NATS permissions), auth reads the real database, and what a person does is audited
under their own id (issue 12). Sessions are started as a sign-in would (``Stack.sign_in``)."""

from __future__ import annotations

import time

import httpx

from tests.stack import Stack

COOKIE = "bastion_session"  # the local stack serves plain HTTP: not a __Host- cookie


def _client(stack: Stack, secret: str) -> httpx.Client:
    return httpx.Client(base_url=stack.api, cookies={COOKIE: secret}, timeout=15)


def _audited(stack: Stack, token: str, action: str) -> list[dict]:
    deadline = time.monotonic() + 15
    with stack.admin(token) as owner:
        while True:
            rows = owner.get("/v1/audit/", params={"action": action}).json()["data"]
            if rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.3)


def test_a_person_works_with_a_cookie_and_signs_out(stack: Stack) -> None:
    org = stack.new_org("Sessions")
    person = stack.sign_in(org["org"], "admin")
    with _client(stack, person["secret"]) as http:
        me = http.get("/v1/session")
        assert me.status_code == 200, me.text
        assert (me.json()["user_id"], me.json()["role"]) == (person["user"], "admin")
        csrf = me.json()["csrf_token"]
        assert http.get("/v1/projects/").status_code == 200
        assert http.post("/v1/projects/", json={"name": "no-csrf"}).status_code == 403
        made = http.post("/v1/projects/", json={"name": "with-csrf"}, headers={"x-csrf-token": csrf})
        assert made.status_code == 201, made.text
        listed = http.get("/v1/sessions").json()["data"]
        assert [s["id"] for s in listed] == [person["session"]]
        out = http.post("/v1/session/signout", headers={"x-csrf-token": csrf})
        assert out.status_code == 200, out.text
        assert "Max-Age=0" in out.headers["set-cookie"]
    with _client(stack, person["secret"]) as replay:
        assert replay.get("/v1/session").status_code == 401
    created = _audited(stack, org["token"], "project.created")
    assert any(r["actor_type"] == "person" and r["user_id"] == person["user"] for r in created)
    signed_out = _audited(stack, org["token"], "session.signed_out")
    assert [(r["actor_type"], r["user_id"], r["success"]) for r in signed_out] == [("person", person["user"], True)]
    assert person["secret"] not in str(signed_out)


def test_another_organisations_session_sees_only_its_own(stack: Stack) -> None:
    mine, theirs = stack.new_org("Mine"), stack.new_org("Theirs")
    person = stack.sign_in(theirs["org"], "owner")
    with _client(stack, person["secret"]) as http:
        projects = http.get("/v1/projects/").json()["data"]
        assert {p["id"] for p in projects} == {theirs["project"]}
        assert http.get(f"/v1/keys/?project_id={mine['project']}").json()["data"] == []


def test_a_demoted_person_gets_a_new_id_and_the_old_one_dies(stack: Stack) -> None:
    org = stack.new_org("Demote")
    person = stack.sign_in(org["org"], "admin")
    with stack.admin(org["token"]) as owner:
        changed = owner.patch(f"/v1/members/{person['user']}", json={"role": "viewer"})
        assert changed.status_code == 200, changed.text
    with _client(stack, person["secret"]) as http:
        me = http.get("/v1/session")
        assert me.status_code == 200, me.text
        assert me.json()["role"] == "viewer"
        renewed = me.cookies.get(COOKIE)
        assert renewed
        assert renewed != person["secret"]
        stack.created_secrets.append(renewed)
    with _client(stack, person["secret"]) as old:
        assert old.get("/v1/session").status_code == 401
    with _client(stack, renewed) as new:
        assert new.get("/v1/session").json()["role"] == "viewer"
        assert (
            new.post(
                "/v1/projects/",
                json={"name": "x"},
                headers={"x-csrf-token": new.get("/v1/session").json()["csrf_token"]},
            ).status_code
            == 403
        )


def test_an_admin_needs_a_second_factor_and_totp_gives_it(stack: Stack) -> None:
    import pyotp

    org = stack.new_org("Twofactor")
    person = stack.sign_in(org["org"], "admin", mfa=False)
    with _client(stack, person["secret"]) as http:
        csrf = http.get("/v1/session").json()["csrf_token"]
        refused = http.post("/v1/projects/", json={"name": "before-2fa"}, headers={"x-csrf-token": csrf})
        assert refused.status_code == 403
        assert "second factor" in refused.json()["detail"]
        assert http.get("/v1/projects/").status_code == 200  # reading needs no second factor
        seed = http.post("/v1/2fa/totp", headers={"x-csrf-token": csrf})
        assert seed.status_code == 201, seed.text
        stack.created_secrets.append(seed.json()["seed"])
        wrong = http.post("/v1/session/step-up", json={"code": "000000"}, headers={"x-csrf-token": csrf})
        assert wrong.status_code == 403
        up = http.post("/v1/session/step-up", json={"code": pyotp.TOTP(seed.json()["seed"]).now()},
                       headers={"x-csrf-token": csrf})  # fmt: skip
        assert up.status_code == 200, up.text
        assert len(up.json()["recovery_codes"]) == 10
        stack.created_secrets.extend(up.json()["recovery_codes"])
        renewed = up.cookies.get(COOKIE)
        assert renewed
        assert renewed != person["secret"]
        stack.created_secrets.append(renewed)
    with _client(stack, person["secret"]) as old:
        assert old.get("/v1/session").status_code == 401  # a new id after the privilege change
    with _client(stack, renewed) as http:
        made = http.post("/v1/projects/", json={"name": "after-2fa"}, headers={"x-csrf-token": up.json()["csrf_token"]})
        assert made.status_code == 201, made.text
