"""Passkeys through the whole stack with a software authenticator (tests/softauthn.py): register
while signed in, sign out, sign back in with the passkey; a replay and a removed passkey fail."""

from __future__ import annotations

import time

import httpx

from tests.softauthn import SoftAuthenticator
from tests.stack import Stack

COOKIE = "bastion_session"


def test_register_sign_out_and_sign_back_in_with_a_passkey(stack: Stack) -> None:
    org = stack.new_org("Passkeys")
    person = stack.sign_in(org["org"], "admin")
    device = SoftAuthenticator(f"http://localhost:{stack.ports['API']}")
    with httpx.Client(base_url=stack.api, cookies={COOKIE: person["secret"]}, timeout=15) as http:
        csrf = http.get("/v1/session").json()["csrf_token"]
        started = http.post("/v1/passkeys/options", headers={"x-csrf-token": csrf})
        assert started.status_code == 200, started.text
        import json

        credential = json.loads(device.create(json.dumps(started.json()["options"])))
        made = http.post("/v1/passkeys/", headers={"x-csrf-token": csrf},
                         json={"ceremony": started.json()["ceremony"], "credential": credential, "name": "laptop"})  # fmt: skip
        assert made.status_code == 201, made.text
        assert [p["name"] for p in made.json()["data"]] == ["laptop"]
        assert http.post("/v1/session/signout", headers={"x-csrf-token": csrf}).status_code == 200
    with httpx.Client(base_url=stack.api, timeout=15) as browser:
        opts = browser.post("/v1/signin/passkey/options").json()
        assertion = json.loads(device.get(json.dumps(opts["options"])))
        body = {"ceremony": opts["ceremony"], "credential": assertion}
        landed = browser.post("/v1/signin/passkey/", json=body)
        assert landed.status_code == 303, landed.text
        secret = landed.cookies.get(COOKIE)
        assert secret
        stack.created_secrets.append(secret)
        me = browser.get("/v1/session", cookies={COOKIE: secret}).json()
        assert (me["user_id"], me["org_id"], me["role"]) == (person["user"], org["org"], "admin")
        browser.cookies.clear()
        assert browser.post("/v1/signin/passkey/", json=body).status_code in {400, 401}  # replayed
        mine = browser.get("/v1/passkeys/", cookies={COOKIE: secret}).json()["data"]
        removed = browser.post(f"/v1/passkeys/{mine[0]['id']}/remove", cookies={COOKIE: secret},
                               headers={"x-csrf-token": me["csrf_token"]})  # fmt: skip
        assert removed.status_code == 200, removed.text
        browser.cookies.clear()
        opts = browser.post("/v1/signin/passkey/options").json()
        gone = browser.post("/v1/signin/passkey/", json={"ceremony": opts["ceremony"],
                                                         "credential": json.loads(device.get(json.dumps(opts["options"])))})  # fmt: skip
        assert gone.status_code == 401
    deadline = time.monotonic() + 15
    while True:
        rows = stack.admin(org["token"]).get("/v1/audit/", params={"action": "session.signed_in"}).json()["data"]
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert [(r["actor_type"], r["user_id"], r["metadata"]["method"]) for r in rows] == [
        ("person", person["user"], "passkey")
    ]
