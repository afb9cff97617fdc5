"""OAuth / OIDC sign-in in auth (authlib + joserfc) against the local mock provider (libs/mockoidc)
served over real HTTP on a free port."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from libs.contracts.messages import CompleteOAuth, OAuthStart, SessionPrincipal, SignInRefused
from libs.mockoidc.app import CLIENT_ID, CLIENT_SECRET
from services.auth.budget import MissBudget
from services.auth.oauth import Identity, OAuth
from services.auth.sessions import Sessions
from services.auth.settings import AuthSettings, OAuthSettings
from services.auth.signin import SignIn
from tests.fakes import FakeSessionStore
from tests.helpers import mock_identity_provider

REDIRECT = "http://127.0.0.1:1/v1/signin/github/callback"


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with mock_identity_provider() as url:
        yield url


def _oauth(mock_url: str, **overrides: object) -> OAuth:
    fields: dict[str, object] = {"github_client_id": CLIENT_ID, "github_client_secret": CLIENT_SECRET,
                                 "github_base_url": mock_url, "google_client_id": CLIENT_ID,
                                 "google_client_secret": CLIENT_SECRET, "google_issuer": mock_url}  # fmt: skip
    fields.update(overrides)
    return OAuth(OAuthSettings(**fields))  # type: ignore[arg-type]


async def _approve(start: OAuthStart, who: str = "demo") -> str:
    """What the browser does: follow the authorize URL (the mock approves at once) to our callback."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(f"{start.authorize_url}&login_hint={who}")
    assert answer.status_code == 302
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["state"] == [start.state]
    return back["code"][0]


async def _begin(oauth: OAuth, provider: str) -> OAuthStart:
    start = await oauth.begin(provider, REDIRECT)
    assert isinstance(start, OAuthStart)
    return start


@pytest.mark.parametrize("provider", ["github", "google"])
async def test_authorize_url_carries_pkce_s256_state_and_nonce(mock_url: str, provider: str) -> None:
    start = await _begin(_oauth(mock_url), provider)
    query = parse_qs(urlsplit(start.authorize_url).query)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(start.verifier.encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge"] == [challenge]
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == [start.state]
    assert query["redirect_uri"] == [REDIRECT]
    assert start.verifier not in start.authorize_url
    assert ("nonce" in query) is (provider == "google")
    assert start.verifier not in repr(start)


@pytest.mark.parametrize("provider", ["github", "google"])
async def test_a_verified_person_is_identified_by_subject(mock_url: str, provider: str) -> None:
    oauth = _oauth(mock_url)
    start = await _begin(oauth, provider)
    code = await _approve(start)
    who = await oauth.complete(provider, code, start.verifier, start.nonce, REDIRECT)
    key = "github-enterprise" if provider == "github" else "google"
    assert who == Identity(provider=key, subject="1001", email="demo@bastion.local")


@pytest.mark.parametrize("provider", ["github", "google"])
async def test_a_replayed_code_is_refused(mock_url: str, provider: str) -> None:
    oauth = _oauth(mock_url)
    start = await _begin(oauth, provider)
    code = await _approve(start)
    assert isinstance(await oauth.complete(provider, code, start.verifier, start.nonce, REDIRECT), Identity)
    assert isinstance(await oauth.complete(provider, code, start.verifier, start.nonce, REDIRECT), SignInRefused)


async def test_a_code_without_its_pkce_verifier_is_refused(mock_url: str) -> None:
    oauth = _oauth(mock_url)
    start, other = await _begin(oauth, "github"), await _begin(oauth, "github")
    code = await _approve(start)
    assert isinstance(await oauth.complete("github", code, other.verifier, start.nonce, REDIRECT), SignInRefused)


async def test_a_bad_nonce_is_refused(mock_url: str) -> None:
    oauth = _oauth(mock_url)
    start, other = await _begin(oauth, "google"), await _begin(oauth, "google")
    code = await _approve(start)
    refused = await oauth.complete("google", code, start.verifier, other.nonce, REDIRECT)
    assert isinstance(refused, SignInRefused)
    assert "could not be verified" in refused.reason


async def test_an_id_token_for_another_client_is_refused(mock_url: str) -> None:
    # our client id differs from the audience the mock signs for: the token is not for us
    oauth = OAuth(OAuthSettings(google_client_id="someone-else", google_client_secret=CLIENT_SECRET,
                                google_issuer=mock_url))  # fmt: skip
    start = await _begin(oauth, "google")
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(start.authorize_url)
    assert answer.status_code == 400  # the mock does not even know that client
    assert isinstance(await oauth.complete("google", "x", start.verifier, start.nonce, REDIRECT), SignInRefused)


@pytest.mark.parametrize("provider", ["github", "google"])
async def test_an_unverified_email_is_refused(mock_url: str, provider: str) -> None:
    oauth = _oauth(mock_url)
    start = await _begin(oauth, provider)
    code = await _approve(start, "unverified")
    refused = await oauth.complete(provider, code, start.verifier, start.nonce, REDIRECT)
    assert isinstance(refused, SignInRefused)
    assert "not verified" in refused.reason


async def test_a_disallowed_workspace_domain_is_refused(mock_url: str) -> None:
    oauth = _oauth(mock_url, google_allowed_domains=["bastion.local"])
    start = await _begin(oauth, "google")
    refused = await oauth.complete("google", await _approve(start, "outsider"), start.verifier, start.nonce, REDIRECT)
    assert isinstance(refused, SignInRefused)
    assert "Workspace domain" in refused.reason
    start = await _begin(oauth, "google")
    assert isinstance(await oauth.complete("google", await _approve(start), start.verifier, start.nonce, REDIRECT),
                      Identity)  # fmt: skip


async def test_a_disallowed_github_organisation_is_refused(mock_url: str) -> None:
    oauth = _oauth(mock_url, github_allowed_orgs=["Bastion-Demo"])
    start = await _begin(oauth, "github")
    refused = await oauth.complete("github", await _approve(start, "outsider"), start.verifier, "", REDIRECT)
    assert isinstance(refused, SignInRefused)
    assert "organisation" in refused.reason
    assert "read:org" in (await _begin(oauth, "github")).authorize_url.replace("%3A", ":")


async def test_github_com_and_an_enterprise_server_are_distinct_identities() -> None:
    public = OAuth(OAuthSettings(github_client_id="c", github_client_secret="s"))
    start = await _begin(public, "github")
    assert start.authorize_url.startswith("https://github.com/login/oauth/authorize?")


async def test_an_unconfigured_provider_is_refused(mock_url: str) -> None:
    oauth = OAuth(OAuthSettings())
    assert not isinstance(await oauth.begin("github", REDIRECT), OAuthStart)
    assert isinstance(await oauth.complete("google", "c", "v", "n", REDIRECT), SignInRefused)


async def test_sign_in_needs_a_linked_identity_never_a_matching_email(mock_url: str) -> None:
    store = FakeSessionStore({("usr-demo", "org1"): "owner"})
    from datetime import UTC, datetime

    store.now = datetime.now(UTC)
    budget = MissBudget(global_rate=100, source_rate=100, source_burst=100, known_good_ttl_s=60, known_good_size=10)
    sessions = Sessions(store, AuthSettings(key_pepper=base64.urlsafe_b64encode(b"p" * 32).decode()), budget)
    links: dict[tuple[str, str], tuple[str, str | None]] = {}

    async def find(provider: str, subject: str) -> tuple[str, str | None] | None:
        return links.get((provider, subject))

    oauth = _oauth(mock_url)
    signin = SignIn(oauth, sessions, find)

    async def attempt() -> SessionPrincipal | SignInRefused:
        start = await _begin(oauth, "github")
        return await signin.complete(CompleteOAuth(request_id="r", provider="github", code=await _approve(start),
                                                   verifier=start.verifier, nonce="", redirect_uri=REDIRECT))  # fmt: skip

    # the demo person exists with the same e-mail address, but the GitHub identity is not linked
    refused = await attempt()
    assert isinstance(refused, SignInRefused)
    assert "not linked" in refused.reason
    links[("github-enterprise", "1001")] = ("usr-demo", "org1")
    signed_in = await attempt()
    assert isinstance(signed_in, SessionPrincipal)
    assert (signed_in.user_id, signed_in.org_id, signed_in.role) == ("usr-demo", "org1", "owner")
    assert signed_in.renewed  # a brand-new session id


def test_an_id_token_authorised_for_another_client_is_not_ours() -> None:
    from services.auth.oauth import issued_to

    assert issued_to({"aud": CLIENT_ID}, CLIENT_ID)
    assert issued_to({"aud": CLIENT_ID, "azp": CLIENT_ID}, CLIENT_ID)
    assert issued_to({"aud": [CLIENT_ID, "other"], "azp": CLIENT_ID}, CLIENT_ID)
    assert not issued_to({"aud": CLIENT_ID, "azp": "other"}, CLIENT_ID)
    assert not issued_to({"aud": [CLIENT_ID, "other"]}, CLIENT_ID)  # several audiences: azp required
    assert not issued_to({"aud": [CLIENT_ID, "other"], "azp": "other"}, CLIENT_ID)
