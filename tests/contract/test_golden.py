"""Golden bytes: an accidental change to any bus message's wire form fails here.

Changing an expected value is a wire-format change: add fields last with defaults, or mint a
new Struct on a new ``.vN`` subject (see libs/contracts/messages/__init__.py).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.messages import (
    AdminPrincipal,
    AliasInfo,
    AliasList,
    AliasReply,
    AuditEvent,
    AuthReply,
    BeginOAuth,
    BeginOAuthReply,
    CompleteOAuth,
    CompleteOAuthReply,
    DeadLetter,
    DeleteAlias,
    Denied,
    EnrollTotp,
    EnrollTotpReply,
    Fault,
    Finding,
    GuardCheck,
    GuardReply,
    GuardVerdict,
    KeyLimits,
    LeaseGrant,
    LeaseReply,
    LeaseRequest,
    LimitCheck,
    LimitDenied,
    ListAliases,
    ListModels,
    ListSessions,
    MetricsText,
    ModelInfo,
    ModelList,
    ModelsReply,
    OAuthStart,
    PasskeyChallenge,
    PasskeyInfo,
    PasskeyList,
    PasskeyListReply,
    PasskeyOptions,
    PasskeyOptionsReply,
    PasskeySignIn,
    PasskeySignInReply,
    Ping,
    Pong,
    Principal,
    ProbeProvider,
    ProbeReply,
    ProbeResult,
    ProviderInfo,
    ProviderList,
    RegisterPasskey,
    RemovePasskey,
    Resolve,
    Resolved,
    RevokeSessions,
    RevokeSessionsReply,
    RevokeToken,
    RoutesChanged,
    SessionInfo,
    SessionList,
    SessionListReply,
    SessionPrincipal,
    SessionsRevoked,
    SetAlias,
    SetProviderPrice,
    SignInRefused,
    SteppedUp,
    StepUp,
    StepUpReply,
    TotpSeed,
    UnitPrice,
    UsageEvent,
    VaultReply,
    VerifyAdmin,
    VerifyAdminReply,
    VerifyKey,
    VerifySession,
    VerifySessionReply,
)

CASES: list[tuple[Any, Any, bytes]] = [
    (VerifyKey(request_id="r1", key="sk-proj_x_y", client_ip="127.0.0.1", sent_at=5), VerifyKey,
     b'{"request_id":"r1","key":"sk-proj_x_y","client_ip":"127.0.0.1","sent_at":5}'),
    (Principal(org_id="o", project_id="p", key_id="k", plan="pro",
               limits=KeyLimits(usage_limit_usd=1.5, rate_limit_rpm=60, allowed_models=["gpt-*"],
                                allowed_ips=["10.0.0.0/8"]), cache_ttl_s=30.0), AuthReply,
     b'{"kind":"ok","org_id":"o","project_id":"p","key_id":"k","plan":"pro","limits":{"usage_limit_usd":1.5,'
     b'"rate_limit_rpm":60,"allowed_models":["gpt-*"],"allowed_ips":["10.0.0.0/8"]},"cache_ttl_s":30.0}'),
    (Principal(org_id="o", project_id="p", key_id="k"), AuthReply,
     b'{"kind":"ok","org_id":"o","project_id":"p","key_id":"k"}'),
    (Denied(code="auth.key_invalid", reason="no"), AuthReply,
     b'{"kind":"denied","code":"auth.key_invalid","reason":"no"}'),
    (Fault(code="internal", message="internal error", retryable=True), AuthReply,
     b'{"kind":"error","code":"internal","message":"internal error","retryable":true}'),
    (VerifyAdmin(request_id="r", token="bst_adm_x"), VerifyAdmin, b'{"request_id":"r","token":"bst_adm_x"}'),
    (VerifyAdmin(request_id="r", token="bst_adm_x", client_ip="203.0.113.7"), VerifyAdmin,
     b'{"request_id":"r","token":"bst_adm_x","client_ip":"203.0.113.7"}'),
    (AdminPrincipal(org_id="o", token_id="t", role="owner"), VerifyAdminReply,
     b'{"kind":"ok","org_id":"o","token_id":"t","role":"owner"}'),
    (GuardCheck(request_id="r", tenant_id="o", project_id="p", key_id="k", texts=["hi"]), GuardCheck,
     b'{"request_id":"r","tenant_id":"o","project_id":"p","key_id":"k","texts":["hi"]}'),
    (GuardVerdict(action="redact", texts=["[REDACTED_EMAIL]"], injection_score=0.25,
                  findings=[Finding(rule_id="builtin.pii", type="EMAIL", action="redact", text_index=0,
                                    start=0, end=5)]), GuardReply,
     b'{"kind":"ok","action":"redact","findings":[{"rule_id":"builtin.pii","type":"EMAIL","action":"redact",'
     b'"text_index":0,"start":0,"end":5}],"texts":["[REDACTED_EMAIL]"],"injection_score":0.25}'),
    (Denied(code="guard.blocked", reason="blocked", rule_ids=["r1"]), GuardReply,
     b'{"kind":"denied","code":"guard.blocked","reason":"blocked","rule_ids":["r1"]}'),
    (Resolve(request_id="r", tenant_id="o", project_id="p", model="m"), Resolve,
     b'{"request_id":"r","tenant_id":"o","project_id":"p","model":"m"}'),
    (Resolved(provider_id="pv", provider="mock", adapter="openai_compatible", base_url="http://x/v1",
              upstream_model="m", api_key="k"), VaultReply,
     b'{"kind":"ok","provider_id":"pv","provider":"mock","adapter":"openai_compatible","base_url":"http://x/v1",'
     b'"upstream_model":"m","api_key":"k"}'),
    (Resolved(provider_id="pv", provider="mock", adapter="anthropic", base_url="http://x/v1",
              upstream_model="m", model="fast-target"), VaultReply,
     b'{"kind":"ok","provider_id":"pv","provider":"mock","adapter":"anthropic","base_url":"http://x/v1",'
     b'"upstream_model":"m","model":"fast-target"}'),
    (ListModels(request_id="r", tenant_id="o"), ListModels, b'{"request_id":"r","tenant_id":"o"}'),
    (ModelList(models=[ModelInfo(id="m", provider="mock", created=1)]), ModelsReply,
     b'{"kind":"ok","models":[{"id":"m","provider":"mock","created":1}]}'),
    (SetAlias(request_id="r", org_id="o", project_id="p", alias="fast", target="mock/m"), SetAlias,
     b'{"request_id":"r","org_id":"o","project_id":"p","alias":"fast","target":"mock/m"}'),
    (ListAliases(request_id="r", org_id="o", project_id="p"), ListAliases,
     b'{"request_id":"r","org_id":"o","project_id":"p"}'),
    (DeleteAlias(request_id="r", org_id="o", project_id="p", alias="fast"), DeleteAlias,
     b'{"request_id":"r","org_id":"o","project_id":"p","alias":"fast"}'),
    (AliasList(aliases=[AliasInfo(alias="fast", target="m", provider="mock", created=1)], created=True), AliasReply,
     b'{"kind":"ok","aliases":[{"alias":"fast","target":"m","provider":"mock","created":1}],"created":true}'),
    (AliasList(aliases=[AliasInfo(alias="old", target="gone")]), AliasReply,
     b'{"kind":"ok","aliases":[{"alias":"old","target":"gone"}]}'),
    (Denied(code="vault.not_found", reason="no such alias"), AliasReply,
     b'{"kind":"denied","code":"vault.not_found","reason":"no such alias"}'),
    (ProbeProvider(request_id="r", org_id="o", provider_id="prv1"), ProbeProvider,
     b'{"request_id":"r","org_id":"o","provider_id":"prv1"}'),
    (ProbeResult(ok=False, status=0, latency_ms=0, detail="timeout"), ProbeReply,
     b'{"kind":"ok","ok":false,"status":0,"latency_ms":0,"detail":"timeout"}'),
    (ProbeResult(ok=True, status=200, latency_ms=12, detail="upstream answered 200"), ProbeReply,
     b'{"kind":"ok","ok":true,"status":200,"latency_ms":12,"detail":"upstream answered 200"}'),
    (Ping(request_id="r"), Ping, b'{"request_id":"r"}'),
    (Pong(service="auth", instance="a1", ready=True), Pong,
     b'{"kind":"pong","service":"auth","instance":"a1","ready":true}'),
    (UsageEvent(request_id="r", ts=1, org_id="o", project_id="p", key_id="k", model="m", provider="mock",
                status=200, prompt_tokens=3, completion_tokens=4), UsageEvent,
     b'{"request_id":"r","ts":1,"org_id":"o","project_id":"p","key_id":"k","model":"m","provider":"mock",'
     b'"status":200,"prompt_tokens":3,"completion_tokens":4}'),
    (RoutesChanged(org_id="o"), RoutesChanged, b'{"org_id":"o"}'),
    (RevokeToken(request_id="c", org_id="o", token_id="tok_1", max_role="admin"), RevokeToken,
     b'{"request_id":"c","org_id":"o","token_id":"tok_1","max_role":"admin"}'),
    (UsageEvent(request_id="req_1", ts=1, org_id="o", project_id="p", key_id="k", model="m", provider="mock",
                status=200, correlation_id="client-7"), UsageEvent,
     b'{"request_id":"req_1","ts":1,"org_id":"o","project_id":"p","key_id":"k","model":"m","provider":"mock",'
     b'"status":200,"correlation_id":"client-7"}'),
    (UsageEvent(request_id="r", ts=1, org_id="o", project_id="p", key_id="k", model="m", provider="mock",
                status=200, lease_id="lse_1", held_micros=86), UsageEvent,
     b'{"request_id":"r","ts":1,"org_id":"o","project_id":"p","key_id":"k","model":"m","provider":"mock",'
     b'"status":200,"lease_id":"lse_1","held_micros":86}'),
    (LeaseRequest(request_id="r", org_id="o", key_id="k", model="m", lease_id="lse_2", rpm_limit=60,
                  usd_limit_micros=1000, want_units=4, want_micros=344, need_micros=86, return_lease_id="lse_1",
                  return_window=1_800_000_000, return_units=1, return_micros=10), LeaseRequest,
     b'{"request_id":"r","org_id":"o","key_id":"k","model":"m","lease_id":"lse_2","rpm_limit":60,'
     b'"usd_limit_micros":1000,"want_units":4,"want_micros":344,"need_micros":86,"return_lease_id":"lse_1",'
     b'"return_window":1800000000,"return_units":1,"return_micros":10}'),
    (LeaseGrant(lease_id="lse_2", window=1_800_000_000, units=4, micros=344, rpm_limit=60, remaining=55, reset_s=30,
                priced=True, price_input=2_500_000, price_output=10_000_000, price_cached=1_250_000), LeaseReply,
     b'{"kind":"ok","lease_id":"lse_2","window":1800000000,"units":4,"micros":344,"rpm_limit":60,"remaining":55,'
     b'"reset_s":30,"priced":true,"price_input":2500000,"price_output":10000000,"price_cached":1250000}'),
    (LimitDenied(code="metering.rate_limited", reason="Rate limit reached.", retry_after_s=12, rpm_limit=60,
                 remaining=0, reset_s=12), LeaseReply,
     b'{"kind":"denied","code":"metering.rate_limited","reason":"Rate limit reached.","retry_after_s":12,'
     b'"rpm_limit":60,"remaining":0,"reset_s":12}'),
    (AuditEvent(event_id="e", ts=1, org_id="o", actor_type="api_key", actor_id="k", action="chat.completion",
                resource="model:m", success=True, detail={"provider": "mock"}), AuditEvent,
     b'{"event_id":"e","ts":1,"org_id":"o","actor_type":"api_key","actor_id":"k","action":"chat.completion",'
     b'"resource":"model:m","success":true,"detail":{"provider":"mock"}}'),  # the shape before issue 13, still read
    (AuditEvent(event_id="e", ts=1, org_id="o", actor_type="management_token", actor_id="t", action="api_key.updated",
                success=False, request_id="r", ip="10.0.0.1", user_agent="ua", resource_type="api_key",
                resource_id="k", metadata={"status": 403, "changes": {"name": ["a", "b"]}, "dry": None}), AuditEvent,
     b'{"event_id":"e","ts":1,"org_id":"o","actor_type":"management_token","actor_id":"t",'
     b'"action":"api_key.updated","success":false,"request_id":"r","ip":"10.0.0.1","user_agent":"ua",'
     b'"resource_type":"api_key","resource_id":"k","metadata":{"status":403,"changes":{"name":["a","b"]},'
     b'"dry":null}}'),
    (Resolved(provider_id="pv", provider="any", adapter="openai_compatible", base_url="http://x/v1",
              upstream_model="m", default_price=UnitPrice(input=1_500_000, output=4_000_000, cached_input=500_000)),
     VaultReply,
     b'{"kind":"ok","provider_id":"pv","provider":"any","adapter":"openai_compatible","base_url":"http://x/v1",'
     b'"upstream_model":"m","default_price":{"input":1500000,"output":4000000,"cached_input":500000}}'),
    (LimitCheck(request_id="r", org_id="o", key_id="k", model="m", usd_limit_micros=5, max_tokens=10, n=3,
                default_price=UnitPrice(input=1, output=2, cached_input=1)), LimitCheck,
     b'{"request_id":"r","org_id":"o","key_id":"k","model":"m","usd_limit_micros":5,"max_tokens":10,"n":3,'
     b'"default_price":{"input":1,"output":2,"cached_input":1}}'),
    (UsageEvent(request_id="r", ts=1, org_id="o", project_id="p", key_id="k", model="m", provider="any",
                status=499, estimated=True, default_price=UnitPrice(input=1, output=2, cached_input=1)), UsageEvent,
     b'{"request_id":"r","ts":1,"org_id":"o","project_id":"p","key_id":"k","model":"m","provider":"any",'
     b'"status":499,"estimated":true,"default_price":{"input":1,"output":2,"cached_input":1}}'),
    (SetProviderPrice(request_id="r", org_id="o", provider_id="prv1", price=UnitPrice(input=1, output=2,
                                                                                      cached_input=1)),
     SetProviderPrice,
     b'{"request_id":"r","org_id":"o","provider_id":"prv1","price":{"input":1,"output":2,"cached_input":1}}'),
    (SetProviderPrice(request_id="r", org_id="o", provider_id="prv1"), SetProviderPrice,
     b'{"request_id":"r","org_id":"o","provider_id":"prv1"}'),
    (ProviderList(providers=[ProviderInfo(id="prv1", name="any", adapter="openai", base_url="u",
                                          default_price=UnitPrice(input=1, output=2, cached_input=1))]),
     ProviderList,
     b'{"kind":"ok","providers":[{"id":"prv1","name":"any","adapter":"openai","base_url":"u",'
     b'"default_price":{"input":1,"output":2,"cached_input":1}}]}'),
    (DeadLetter(subject="gw.evt.usage.o.recorded", stream="USAGE", stream_seq=7, consumer="metering",
                reason="unstorable", detail="DataError", deliveries=1, ts=5, payload=b"{}"), DeadLetter,
     b'{"subject":"gw.evt.usage.o.recorded","stream":"USAGE","stream_seq":7,"consumer":"metering",'
     b'"reason":"unstorable","detail":"DataError","ts":5,"payload":"e30="}'),
    (MetricsText(service="audit", instance="a1", text="x 1\n"), MetricsText,
     b'{"kind":"metrics","service":"audit","instance":"a1","text":"x 1\\n"}'),
    (AdminPrincipal(org_id="o", token_id="", role="viewer", user_id="usr1", session_id="ses_1"), AdminPrincipal,
     b'{"kind":"ok","org_id":"o","token_id":"","role":"viewer","user_id":"usr1","session_id":"ses_1"}'),
    (VerifySession(request_id="r", secret="bst_ses_x", client_ip="203.0.113.7"), VerifySession,
     b'{"request_id":"r","secret":"bst_ses_x","client_ip":"203.0.113.7"}'),
    (SessionPrincipal(org_id="o", user_id="usr1", session_id="ses_1", role="admin", expires_at=9, idle_s=3600),
     VerifySessionReply,
     b'{"kind":"ok","org_id":"o","user_id":"usr1","session_id":"ses_1","role":"admin","expires_at":9,"idle_s":3600}'),
    (SessionPrincipal(org_id="o", user_id="u", session_id="s", role="owner", expires_at=9, idle_s=60,
                      renewed="bst_ses_y"), VerifySessionReply,
     b'{"kind":"ok","org_id":"o","user_id":"u","session_id":"s","role":"owner","expires_at":9,"idle_s":60,'
     b'"renewed":"bst_ses_y"}'),
    (Denied(code="auth.session_invalid", reason="no"), VerifySessionReply,
     b'{"kind":"denied","code":"auth.session_invalid","reason":"no"}'),
    (ListSessions(request_id="r", user_id="usr1"), ListSessions, b'{"request_id":"r","user_id":"usr1"}'),
    (SessionList(sessions=[SessionInfo(id="ses_1", org_id="o", method="oauth:github", created_at=1, last_seen_at=2,
                                       expires_at=3, ip="203.0.113.7", user_agent="UA")]), SessionListReply,
     b'{"kind":"ok","sessions":[{"id":"ses_1","org_id":"o","method":"oauth:github","created_at":1,"last_seen_at":2,'
     b'"expires_at":3,"ip":"203.0.113.7","user_agent":"UA"}]}'),
    (RevokeSessions(request_id="r", user_id="usr1", session_id="ses_1"), RevokeSessions,
     b'{"request_id":"r","user_id":"usr1","session_id":"ses_1"}'),
    (RevokeSessions(request_id="r", user_id="usr1", keep="ses_2"), RevokeSessions,
     b'{"request_id":"r","user_id":"usr1","keep":"ses_2"}'),
    (SessionsRevoked(count=2), RevokeSessionsReply, b'{"kind":"ok","count":2}'),
    (EnrollTotp(request_id="r", user_id="usr1", account="ada"), EnrollTotp,
     b'{"request_id":"r","user_id":"usr1","account":"ada"}'),
    (TotpSeed(seed="JBSW", uri="otpauth://totp/x"), EnrollTotpReply,
     b'{"kind":"ok","seed":"JBSW","uri":"otpauth://totp/x"}'),
    (StepUp(request_id="r", secret="bst_ses_x", code="123456"), StepUp,
     b'{"request_id":"r","secret":"bst_ses_x","code":"123456"}'),
    (SteppedUp(session=SessionPrincipal(org_id="o", user_id="u", session_id="s", role="admin", expires_at=9,
                                        idle_s=60, renewed="bst_ses_y", mfa=True), recovery_codes=["abcde-12345"]),
     StepUpReply,
     b'{"kind":"ok","session":{"kind":"ok","org_id":"o","user_id":"u","session_id":"s","role":"admin",'
     b'"expires_at":9,"idle_s":60,"renewed":"bst_ses_y","mfa":true},"recovery_codes":["abcde-12345"]}'),
    (AdminPrincipal(org_id="o", token_id="", role="owner", user_id="u", session_id="s", mfa=True), AdminPrincipal,
     b'{"kind":"ok","org_id":"o","token_id":"","role":"owner","user_id":"u","session_id":"s","mfa":true}'),
    (PasskeyOptions(request_id="r", user_id="usr1", user_name="ada"), PasskeyOptions,
     b'{"request_id":"r","user_id":"usr1","user_name":"ada"}'),
    (PasskeyOptions(request_id="r"), PasskeyOptions, b'{"request_id":"r"}'),
    (PasskeyChallenge(options_json="{}", challenge="c"), PasskeyOptionsReply,
     b'{"kind":"ok","options_json":"{}","challenge":"c"}'),
    (RegisterPasskey(request_id="r", user_id="u", challenge="c", credential_json="{}", name="laptop"), RegisterPasskey,
     b'{"request_id":"r","user_id":"u","challenge":"c","credential_json":"{}","name":"laptop"}'),
    (PasskeyList(passkeys=[PasskeyInfo(id="pk_1", name="laptop", created_at=1, last_used_at=2)]), PasskeyListReply,
     b'{"kind":"ok","passkeys":[{"id":"pk_1","name":"laptop","created_at":1,"last_used_at":2}]}'),
    (RemovePasskey(request_id="r", user_id="u", passkey_id="pk_1"), RemovePasskey,
     b'{"request_id":"r","user_id":"u","passkey_id":"pk_1"}'),
    (PasskeySignIn(request_id="r", challenge="c", credential_json="{}", client_ip="203.0.113.7"), PasskeySignIn,
     b'{"request_id":"r","challenge":"c","credential_json":"{}","client_ip":"203.0.113.7"}'),
    (SignInRefused(code="auth.signin_refused", reason="no"), PasskeySignInReply,
     b'{"kind":"refused","code":"auth.signin_refused","reason":"no"}'),
    (BeginOAuth(request_id="r", provider="github", redirect_uri="https://a/cb"), BeginOAuth,
     b'{"request_id":"r","provider":"github","redirect_uri":"https://a/cb"}'),
    (OAuthStart(authorize_url="https://p/a", state="s", nonce="n", verifier="v"), BeginOAuthReply,
     b'{"kind":"ok","authorize_url":"https://p/a","state":"s","nonce":"n","verifier":"v"}'),
    (CompleteOAuth(request_id="r", provider="google", code="c", verifier="v", nonce="n", redirect_uri="u",
                   client_ip="203.0.113.7"), CompleteOAuth,
     b'{"request_id":"r","provider":"google","code":"c","verifier":"v","nonce":"n","redirect_uri":"u",'
     b'"client_ip":"203.0.113.7"}'),
    (SignInRefused(code="auth.signin_refused", reason="no", user_id="usr1"), CompleteOAuthReply,
     b'{"kind":"refused","code":"auth.signin_refused","reason":"no","user_id":"usr1"}'),
    (SessionPrincipal(org_id="o", user_id="u", session_id="s", role="owner", expires_at=9, idle_s=60,
                      renewed="bst_ses_z"), CompleteOAuthReply,
     b'{"kind":"ok","org_id":"o","user_id":"u","session_id":"s","role":"owner","expires_at":9,"idle_s":60,'
     b'"renewed":"bst_ses_z"}'),
]  # fmt: skip


@pytest.mark.parametrize(("message", "wire_type", "golden"), CASES, ids=lambda v: type(v).__name__)
def test_golden_bytes_and_round_trip(message: Any, wire_type: Any, golden: bytes) -> None:
    assert encode(message) == golden
    assert Codec(wire_type).decode(golden) == message


def test_old_readers_skip_new_fields() -> None:
    newer = b'{"kind":"ok","org_id":"o","project_id":"p","key_id":"k","added_later":{"x":1}}'
    assert Codec(AuthReply).decode(newer) == Principal(org_id="o", project_id="p", key_id="k")


def test_secret_bearing_messages_hide_secrets_in_repr() -> None:
    assert "sk-proj" not in repr(VerifyKey(request_id="r", key="sk-proj_abc_secret"))
    assert "bst_adm_" not in repr(VerifyAdmin(request_id="r", token="bst_adm_secret"))
    assert "bst_ses_" not in repr(VerifySession(request_id="r", secret="bst_ses_secret"))
    renewed = SessionPrincipal(org_id="o", user_id="u", session_id="s", role="owner", expires_at=1, idle_s=1,
                               renewed="bst_ses_secret")  # fmt: skip
    assert "bst_ses_" not in repr(renewed)
    assert "JBSW" not in repr(TotpSeed(seed="JBSW", uri="otpauth://totp/x?secret=JBSW"))
    assert "654321" not in repr(StepUp(request_id="r", secret="bst_ses_x", code="654321"))
    assert "abcde" not in repr(SteppedUp(session=renewed, recovery_codes=["abcde-12345"]))
    assert "verif" not in repr(OAuthStart(authorize_url="u", state="s", nonce="n", verifier="verif"))
    assert "codez" not in repr(CompleteOAuth(request_id="r", provider="p", code="codez", verifier="v", nonce="n",
                                             redirect_uri="u"))  # fmt: skip
    resolved = Resolved(provider_id="p", provider="x", adapter="openai", base_url="u", upstream_model="m",
                        api_key="sk-live-provider-secret")  # fmt: skip
    assert "sk-live-provider-secret" not in repr(resolved)


def test_unknown_variant_is_rejected() -> None:
    with pytest.raises(msgspec.ValidationError):
        Codec(AuthReply).decode(b'{"kind":"maybe"}')


def test_subjects_are_versioned_and_distinct() -> None:
    rr = [subjects.AUTH_VERIFY, subjects.AUTH_VERIFY_ADMIN, subjects.GUARD_CHECK, subjects.VAULT_RESOLVE,
          subjects.VAULT_MODELS, subjects.VAULT_KEY_STORE, subjects.VAULT_KEY_ROTATE, subjects.VAULT_KEY_LIST,
          subjects.VAULT_KEY_DELETE, subjects.VAULT_ALIAS_SET, subjects.VAULT_ALIAS_LIST, subjects.VAULT_ALIAS_DELETE,
          subjects.VAULT_PROVIDER_TEST, subjects.VAULT_PROVIDER_PRICE, subjects.METERING_LIMIT_CHECK,
          subjects.METERING_LEASE, subjects.AUTH_SESSION_VERIFY, subjects.AUTH_SESSION_LIST,
          subjects.AUTH_SESSION_REVOKE, subjects.AUTH_OAUTH_BEGIN, subjects.AUTH_OAUTH_COMPLETE, *subjects.AUTH_PASSKEY_SUBJECTS, subjects.AUTH_TOTP_ENROLL, subjects.AUTH_SESSION_STEP_UP, *(subjects.ping(s) for s in subjects.SERVICES)]  # fmt: skip
    assert len(set(rr)) == len(rr)
    assert all(s.startswith("gw.") and s.rsplit(".", 1)[1].startswith("v") for s in rr)
    assert subjects.usage_event("org1").startswith("gw.evt.usage.")
    assert subjects.audit_event("edge", "chat", "completion") == "gw.evt.audit.edge.chat.completion"
