"""Canary secrets planted in the session stack as soon as it is up, and pushed through every path
an attacker could use to make the system echo a secret: successful and failing data-plane calls,
management calls that succeed, are refused or are malformed, provider tests and rotations, bad
base URLs, secrets inside prompts and headers. tests/security/test_zz_canary.py then scans what
the whole suite left behind (logs, traces, spools, JetStream, a database dump) for them.

The provider keys are shaped like no known key format on purpose: the log scrubber masks
key-shaped strings, and the canary must prove that such keys are never logged in the first place.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from libs.crypto.keyring import Keyring

if TYPE_CHECKING:
    from tests.stack import Stack

MODEL = "canary-model"
BAD_MODEL = "canary-dead-model"
ECHO_MODEL = "canary-echo-key"  # the mock quotes the provider key back in a 400 (libs/mockllm)


def _provider_key() -> str:
    # '+' and '/' so that URL-encoded and JSON-escaped forms differ from the raw one.
    return "cnry." + secrets.token_urlsafe(24) + "+/" + secrets.token_hex(4)


@dataclass
class Canaries:
    """What was planted (the secrets themselves) and what the exercise observed."""

    org: str
    project: str
    owner_token: str
    api_key: str
    admin_token: str
    provider_id: str
    provider_keys: list[str]
    master_keys: dict[str, bytes]
    pepper: bytes
    statuses: list[tuple[str, int, set[int]]] = field(default_factory=list)
    """(step, status seen, statuses expected) of every exercised call."""
    upstream_auth: list[str] = field(default_factory=list)
    """The credentials the mock upstream saw on the canary's calls."""
    responses: list[tuple[str, bytes]] = field(default_factory=list)
    """Bodies the gateway returned to data-plane clients (they must not hold a provider key)."""

    def __repr__(self) -> str:
        return f"Canaries(org={self.org!r}, <secrets redacted>)"

    def text_secrets(self) -> dict[str, str]:
        """Canary text secrets by role."""
        named = {"canary api key": self.api_key, "canary management token": self.admin_token,
                 "canary owner token": self.owner_token}  # fmt: skip
        named |= {f"canary provider key {i + 1}": k for i, k in enumerate(self.provider_keys)}
        return named

    def refresh_master_keys(self, stack: Stack) -> None:
        """Add keys the suite rotated in (retired ones are remembered from before)."""
        self.master_keys |= read_master_keys(stack)


def read_master_keys(stack: Stack) -> dict[str, bytes]:
    """The stack's current keyring (``var/secrets/master.keys``), kid → raw key bytes."""
    ring = Keyring.from_spec((stack.var / "secrets" / "master.keys").read_text(encoding="utf-8"))
    return {key.kid: key.material for key in ring}


def plant(stack: Stack) -> Canaries:
    """A canary organisation: an API key and a management token made through the management API,
    and a provider whose key only the mock upstream should ever see."""
    made = stack.new_org("Canary")
    with stack.admin(made["token"]) as http:
        key = http.post("/v1/keys/", json={"project_id": made["project"], "name": "canary key"})
        key.raise_for_status()
        token = http.post("/v1/tokens/", json={"role": "admin", "name": "canary token"})
        token.raise_for_status()
        provider_key = _provider_key()
        provider = http.post("/v1/providers/", json={
            "name": "canary", "adapter": "openai_compatible", "base_url": f"{stack.mock}/v1",
            "api_key": provider_key, "models": [MODEL, ECHO_MODEL]})  # fmt: skip
        provider.raise_for_status()
    canaries = Canaries(org=made["org"], project=made["project"], owner_token=made["token"],
                        api_key=key.json()["key"], admin_token=token.json()["token"],
                        provider_id=provider.json()["id"], provider_keys=[provider_key],
                        master_keys=read_master_keys(stack), pepper=stack.pepper)  # fmt: skip
    stack.created_secrets.extend([canaries.api_key, canaries.admin_token, provider_key])
    return canaries


def _typo(secret: str) -> str:
    """``secret`` with one character of its random part changed (so its checksum fails)."""
    at = len(secret) - 10
    return secret[:at] + ("A" if secret[at] != "A" else "B") + secret[at + 1 :]


class _Exercise:
    def __init__(self, stack: Stack, canaries: Canaries) -> None:
        self.stack = stack
        self.c = canaries
        self.http = httpx.Client(timeout=20)

    def call(self, step: str, expect: set[int], method: str, url: str, *, echoes: bool = False,
             **kwargs: Any) -> httpx.Response:  # fmt: skip
        """One request; its status is recorded, and a data-plane answer is kept for the response
        check unless the request itself held server-side secrets (``echoes``: the mock echoes prompts)."""
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:  # recorded, so the canary test fails and the session goes on
            self.c.statuses.append((f"{step}: {type(exc).__name__}", 0, expect))
            return httpx.Response(0)
        self.c.statuses.append((step, response.status_code, expect))
        if url.startswith(self.stack.base_url) and not echoes:
            self.c.responses.append((step, response.content))
        return response

    def chat(self, step: str, expect: set[int], headers: dict[str, str], *, model: str = MODEL,
             content: str = "hello canary", url: str = "", echoes: bool = False, **extra: Any) -> httpx.Response:  # fmt: skip
        body = {"model": model, "messages": [{"role": "user", "content": content}], **extra}
        return self.call(step, expect, "POST", url or f"{self.stack.base_url}/chat/completions",
                         json=body, headers=headers, echoes=echoes)  # fmt: skip

    def upstream_saw(self) -> None:
        seen = self.http.get(f"{self.stack.mock}/_mock/requests").json()
        self.c.upstream_auth.extend(r["auth"] for r in seen if "cnry." in str(r.get("auth")))

    def data_plane(self) -> None:
        c, base = self.c, self.stack.base_url
        bearer = {"authorization": f"Bearer {c.api_key}"}
        self.chat("chat", {200}, bearer)
        self.chat("chat stream", {200}, bearer, stream=True)
        self.chat("chat x-api-key", {200}, {"x-api-key": c.api_key})
        self.call("messages x-api-key", {200}, "POST", f"{base}/messages", headers={"x-api-key": c.api_key},
                  json={"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
        self.call("embeddings", {200, 400, 404}, "POST", f"{base}/embeddings", headers=bearer,
                  json={"model": MODEL, "input": "canary"})  # fmt: skip
        self.call("models", {200}, "GET", f"{base}/models", headers=bearer)
        master = base64.b64encode(next(iter(c.master_keys.values()))).decode()
        everything = (f"my key {c.api_key}, token {c.admin_token}, provider {c.provider_keys[0]}, "
                      f"master {master}, pepper {base64.urlsafe_b64encode(c.pepper).decode()}")  # fmt: skip
        self.chat("secrets in a prompt", {200, 400}, bearer, content=everything, echoes=True)
        self.chat("secrets in a streamed prompt", {200, 400}, bearer, content=everything, stream=True, echoes=True)
        self.chat("key as the model", {400, 403, 404}, bearer, model=c.api_key)
        self.chat("key in the query", {200}, bearer, url=f"{base}/chat/completions?api_key={c.api_key}")
        self.chat("key as request id", {200, 400}, {**bearer, "x-request-id": c.api_key})
        self.chat("key as user agent", {200}, {**bearer, "user-agent": c.api_key})
        for step, value in (("typo", f"Bearer {_typo(c.api_key)}"), ("junk after", f"Bearer {c.api_key} junk"),
                            ("junk glued", f"Bearer {c.api_key}junk"), ("token as key", f"Bearer {c.admin_token}"),
                            ("no scheme", c.api_key),
                            ("basic", "Basic " + base64.b64encode(f"{c.api_key}:".encode()).decode())):  # fmt: skip
            self.chat(f"data plane: {step}", {401}, {"authorization": value})
        self.chat("x-api-key typo", {401}, {"x-api-key": _typo(c.api_key)})
        self.call("malformed body", {400, 422}, "POST", f"{base}/chat/completions", headers=bearer,
                  content=b'{"model": "' + c.api_key.encode() + b'", "messages": [')  # fmt: skip
        self.chat("unknown model", {404}, bearer, model="canary-no-such-model")
        self.chat("upstream quotes the provider key", {400}, bearer, model=ECHO_MODEL)
        self.chat("upstream quotes the provider key, streamed", {400}, bearer, model=ECHO_MODEL, stream=True)
        self.upstream_saw()

    def management(self) -> None:
        c, api = self.c, self.stack.api
        auth = {"authorization": f"Bearer {c.admin_token}"}
        self.call("mgmt list keys", {200}, "GET", f"{api}/v1/keys/", headers=auth)
        self.call("mgmt list providers", {200}, "GET", f"{api}/v1/providers/", headers=auth)
        self.call("mgmt token as user agent", {200}, "GET", f"{api}/v1/tokens/",
                  headers={**auth, "user-agent": c.admin_token})  # fmt: skip
        self.call("mgmt grant owner", {403}, "POST", f"{api}/v1/tokens/", headers=auth, json={"role": "owner"})
        self.call("mgmt key in path", {404}, "GET", f"{api}/v1/keys/{c.api_key}", headers=auth)
        # (a NUL in the path, /v1/keys/%00…, was a 500 here: fixed with the schemathesis suite, c59e9f5)
        self.call("mgmt token in path", {404}, "POST", f"{api}/v1/tokens/{c.admin_token}/revoke", headers=auth)
        self.call("mgmt unknown provider test", {400, 404}, "POST", f"{api}/v1/providers/{quote(c.provider_keys[0], safe='')}/test",
                  headers=auth)  # fmt: skip
        self.call("mgmt bad key body", {400}, "POST", f"{api}/v1/keys/", headers=auth,
                  json={"project_id": c.api_key, "bogus": c.admin_token})  # fmt: skip
        self.call("mgmt key for a foreign project", {400, 403, 404}, "POST", f"{api}/v1/keys/", headers=auth,
                  json={"project_id": "nosuchproject", "name": c.admin_token})  # fmt: skip
        self.call("mgmt broken json", {400}, "POST", f"{api}/v1/tokens/", headers=auth,
                  content=b'{"role": "admin", "name": "' + c.admin_token.encode())  # fmt: skip
        for step, value in (("typo", f"Bearer {_typo(c.admin_token)}"), ("junk", f"Bearer {c.admin_token} junk"),
                            ("api key as token", f"Bearer {c.api_key}"), ("bare", c.admin_token)):  # fmt: skip
            self.call(f"mgmt {step}", {401}, "GET", f"{api}/v1/keys/", headers={"authorization": value})
        self.call("mgmt x-api-key", {401}, "GET", f"{api}/v1/keys/", headers={"x-api-key": c.admin_token})

    def key_lifecycle(self) -> None:
        """A second key created, used, rotated with a grace period (old and new both used),
        revoked and used again (its secrets join ``created_secrets``)."""
        c, api, base = self.c, self.stack.api, self.stack.base_url
        auth = {"authorization": f"Bearer {c.admin_token}"}
        made = self.call("key create", {201}, "POST", f"{api}/v1/keys/", headers=auth,
                         json={"project_id": c.project, "name": "canary second key"})  # fmt: skip
        if made.status_code != 201:
            return
        key_id, old = made.json()["id"], made.json()["key"]
        self.stack.created_secrets.append(old)
        self.chat("second key", {200}, {"authorization": f"Bearer {old}"})
        rotated = self.call("key rotate", {200}, "POST", f"{api}/v1/keys/{key_id}/rotate", headers=auth,
                            json={"grace_seconds": 60})  # fmt: skip
        if rotated.status_code == 200:
            new = rotated.json()["key"]
            self.stack.created_secrets.append(new)
            self.chat("rotated key", {200}, {"authorization": f"Bearer {new}"})
            self.chat("old key in its grace period", {200}, {"authorization": f"Bearer {old}"})
        self.call("key revoke", {200}, "POST", f"{api}/v1/keys/{key_id}/revoke", headers=auth)
        self.chat("revoked key", {401}, {"authorization": f"Bearer {old}"})
        self.call("revoked key, x-api-key", {401}, "POST", f"{base}/messages", headers={"x-api-key": old},
                  json={"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
        master = base64.b64encode(next(iter(c.master_keys.values()))).decode()
        texts = [f"key {c.api_key}", f"token {c.admin_token}", f"provider {c.provider_keys[0]}", f"master {master}"]
        self.call("guardrails dry run on secrets", {200}, "POST", f"{api}/v1/guardrails/test", headers=auth,
                  json={"project_id": c.project, "texts": texts})  # fmt: skip

    def providers(self) -> None:
        c, api, mock = self.c, self.stack.api, self.stack.mock
        auth = {"authorization": f"Bearer {c.admin_token}"}
        key = c.provider_keys[0]
        self.call("provider test", {200}, "POST", f"{api}/v1/providers/{c.provider_id}/test", headers=auth)
        bad_urls = {
            "userinfo": f"https://user:{key}@api.example.com/v1",
            "query": f"https://api.example.com/v1?key={key}",
            "fragment": f"{mock}/v1#{key}",
            "link-local": f"https://169.254.169.254/{key}",
            "not a url": f"not a url {key}",
        }
        for step, url in bad_urls.items():
            self.call(f"provider bad base_url: {step}", {400}, "POST", f"{api}/v1/providers/", headers=auth,
                      json={"name": "canary-bad", "adapter": "openai_compatible", "base_url": url, "api_key": key})  # fmt: skip
        good = {"name": "canary-bad", "adapter": "openai_compatible", "base_url": f"{mock}/v1", "api_key": key}
        for step, change in (("adapter", {"adapter": key}), ("name", {"name": key}),
                             ("huge key", {"api_key": key * 200}), ("unknown field", {"secret": key}),
                             ("duplicate name", {"name": "canary"})):  # fmt: skip
            self.call(f"provider bad {step}", {400, 409}, "POST", f"{api}/v1/providers/", headers=auth,
                      json={**good, **change})  # fmt: skip
        self.call("provider rotate bad body", {400}, "POST", f"{api}/v1/providers/{c.provider_id}/rotate",
                  headers=auth, json={"api_key": key, "extra": key})  # fmt: skip
        rotated = _provider_key()
        c.provider_keys.append(rotated)
        self.stack.created_secrets.append(rotated)
        self.call("provider rotate", {200}, "POST", f"{api}/v1/providers/{c.provider_id}/rotate", headers=auth,
                  json={"api_key": rotated})  # fmt: skip
        self.chat("chat after rotation", {200}, {"authorization": f"Bearer {c.api_key}"})
        # The other two adapters carry the key elsewhere (x-api-key, x-goog-api-key).
        for adapter, base_url, model in (("anthropic", f"{mock}/v1", "claude-mock-1"),
                                         ("gemini", f"{mock}/v1beta", "gemini-mock-1")):  # fmt: skip
            other = _provider_key()
            c.provider_keys.append(other)
            self.stack.created_secrets.append(other)
            made = self.call(f"{adapter} provider", {201}, "POST", f"{api}/v1/providers/", headers=auth, json={
                "name": f"canary-{adapter}", "adapter": adapter, "base_url": base_url, "api_key": other,
                "models": [model, f"{model}-fail-500"]})  # fmt: skip
            if made.status_code == 201:
                self.call(f"{adapter} provider test", {200}, "POST", f"{api}/v1/providers/{made.json()['id']}/test",
                          headers=auth)  # fmt: skip
            bearer = {"authorization": f"Bearer {c.api_key}"}
            self.chat(f"chat via {adapter}", {200}, bearer, model=model)
            self.chat(f"chat via {adapter}, streamed", {200}, bearer, model=model, stream=True)
            self.chat(f"chat via {adapter}, upstream failing", {429, 502}, bearer, model=f"{model}-fail-500")
        # A provider the upstream does not serve: a failing test and a failing routed call.
        dead = _provider_key()
        c.provider_keys.append(dead)
        self.stack.created_secrets.append(dead)
        made = self.call("dead provider", {201}, "POST", f"{api}/v1/providers/", headers=auth, json={
            "name": "canary-dead", "adapter": "openai_compatible", "base_url": f"{mock}/nowhere",
            "api_key": dead, "models": [BAD_MODEL]})  # fmt: skip
        if made.status_code == 201:
            self.call("dead provider test", {200}, "POST", f"{api}/v1/providers/{made.json()['id']}/test",
                      headers=auth)  # fmt: skip
        self.chat("chat to a dead provider", {404, 502}, {"authorization": f"Bearer {c.api_key}"}, model=BAD_MODEL)
        self.upstream_saw()

    def sessions(self) -> None:
        """A signed-in person of the canary organisation: reads, a refused and an accepted change,
        forged and replayed cookies, the secret in a path, sign-out (issue 12)."""
        api, name = self.stack.api, "bastion_session"  # plain HTTP locally: not a __Host- cookie
        person = self.stack.sign_in(self.c.org)
        secret = person["secret"]
        jar = {"cookie": f"{name}={secret}"}
        me = self.call("session whoami", {200}, "GET", f"{api}/v1/session", headers=jar)
        csrf = me.json().get("csrf_token", "") if me.status_code == 200 else ""
        self.call("session list keys", {200}, "GET", f"{api}/v1/keys/", headers=jar)
        self.call("session change without csrf", {403}, "POST", f"{api}/v1/tokens/", headers=jar,
                  json={"role": "viewer", "name": "via session"})  # fmt: skip
        made = self.call("session change with csrf", {201}, "POST", f"{api}/v1/tokens/",
                         headers={**jar, "x-csrf-token": csrf}, json={"role": "viewer", "name": "via session"})  # fmt: skip
        if made.status_code == 201:
            self.stack.created_secrets.append(made.json()["token"])
        seed = self.call("totp enrol", {201}, "POST", f"{api}/v1/2fa/totp", headers={**jar, "x-csrf-token": csrf})
        if seed.status_code == 201:
            import pyotp

            self.stack.created_secrets.append(seed.json()["seed"])
            up = self.call("totp step-up", {200}, "POST", f"{api}/v1/session/step-up",
                           headers={**jar, "x-csrf-token": csrf}, json={"code": pyotp.TOTP(seed.json()["seed"]).now()})  # fmt: skip
            if up.status_code == 200:
                self.stack.created_secrets.extend(up.json().get("recovery_codes", []))
                secret = up.cookies.get(name) or secret
                self.stack.created_secrets.append(secret)
                jar = {"cookie": f"{name}={secret}"}
                csrf = up.json().get("csrf_token", csrf)
            self.call("totp wrong code", {403}, "POST", f"{api}/v1/session/step-up",
                      headers={**jar, "x-csrf-token": csrf}, json={"code": "12345x"})  # fmt: skip
        self.call("session forged", {401}, "GET", f"{api}/v1/session", headers={"cookie": f"{name}={_typo(secret)}"})
        self.call("session in path", {404}, "POST", f"{api}/v1/sessions/{secret}/revoke",
                  headers={**jar, "x-csrf-token": csrf})  # fmt: skip
        self.call("session as bearer", {401}, "GET", f"{api}/v1/keys/", headers={"authorization": f"Bearer {secret}"})
        self.call("session sign out", {200}, "POST", f"{api}/v1/session/signout", headers={**jar, "x-csrf-token": csrf})
        self.call("session replayed", {401}, "GET", f"{api}/v1/session", headers=jar)
        # a real sign-in through the local identity provider (the auth service uses its client secret)
        with httpx.Client(follow_redirects=True, timeout=20) as browser:
            landed = browser.get(f"{api}/v1/signin/github")
            self.c.statuses.append(("sign in with github (local)", landed.status_code, {200}))
            if browser.cookies.get(name):
                self.stack.created_secrets.append(str(browser.cookies.get(name)))
            self.call("sign in, forged callback", {400}, "GET", f"{api}/v1/signin/github/callback",
                      params={"code": "x", "state": "y"})  # fmt: skip

    def run(self) -> None:
        with self.http:
            self.data_plane()
            self.management()
            self.key_lifecycle()
            self.providers()
            self.sessions()


def exercise(stack: Stack, canaries: Canaries) -> None:
    """Push every canary through the paths listed in the module docstring (statuses recorded in
    ``canaries.statuses``, checked by the canary test, so one odd answer never breaks the session)."""
    _Exercise(stack, canaries).run()
