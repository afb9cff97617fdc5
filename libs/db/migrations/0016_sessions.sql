-- People's sessions (issue 12), owned by the auth service.
--
-- The cookie holds an opaque random secret (`bst_ses_…`, 256 bits); the table keeps only
-- HMAC-SHA256(pepper, secret) in `lookup`, so a database dump does not let anyone sign in. The
-- public id (`ses_…`) names a session in lists, revocations and audit rows. Idle timeout and
-- absolute lifetime are auth's settings and checked by auth on every use; `last_seen_at` is
-- written at most once a minute per session. `role` is the membership role the session was
-- issued (or last renewed) under: when the membership's role differs, auth renews the secret
-- (a new id on any privilege change) or, if the membership is gone, refuses the session.
--
-- Only the auth role touches sessions, and only through the SECURITY DEFINER functions below
-- (it cannot list sessions it has no digest or person for); the management API has no access.
CREATE TABLE auth.sessions (
    id            text PRIMARY KEY,
    lookup        text NOT NULL UNIQUE,
    user_id       text NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    org_id        text NOT NULL REFERENCES auth.orgs (id) ON DELETE CASCADE,
    role          text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    method        text NOT NULL DEFAULT '',
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    mfa_at        timestamptz  -- a second factor was shown (passkey sign-in, TOTP or a recovery code)
);
CREATE INDEX ON auth.sessions (user_id);
ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON auth.sessions USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
REVOKE ALL ON auth.sessions FROM PUBLIC;

-- A new session for a member of the organisation (NULL if the person is not one). Expired and
-- revoked sessions of the person older than a day are deleted on the way.
CREATE FUNCTION auth.start_session(p_id text, p_lookup text, p_user_id text, p_org_id text, p_method text,
                                   p_ip text, p_user_agent text, p_expires_at timestamptz, p_mfa boolean)
RETURNS TABLE (id text, role text, created_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH gone AS (
        DELETE FROM auth.sessions s WHERE s.user_id = p_user_id
           AND (s.expires_at < now() - interval '1 day' OR s.revoked_at < now() - interval '1 day')
    )
    INSERT INTO auth.sessions AS s (id, lookup, user_id, org_id, role, method, ip, user_agent, expires_at, mfa_at)
    SELECT p_id, p_lookup, p_user_id, p_org_id, m.role, p_method, p_ip, p_user_agent, p_expires_at,
           CASE WHEN p_mfa THEN now() END
    FROM auth.memberships m WHERE m.user_id = p_user_id AND m.org_id = p_org_id
    RETURNING s.id, s.role, s.created_at
$$;

-- The session whose digest is `p_lookup`, with the person's current role in its organisation
-- (NULL: no longer a member). Auth decides validity (revoked, idle, lifetime, role).
CREATE FUNCTION auth.find_session(p_lookup text)
RETURNS TABLE (id text, user_id text, org_id text, role text, member_role text, created_at timestamptz,
               last_seen_at timestamptz, expires_at timestamptz, revoked_at timestamptz, mfa_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.id, s.user_id, s.org_id, s.role, m.role, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at,
           s.mfa_at
    FROM auth.sessions s LEFT JOIN auth.memberships m ON m.user_id = s.user_id AND m.org_id = s.org_id
    WHERE s.lookup = p_lookup
$$;

CREATE FUNCTION auth.touch_session(p_id text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    UPDATE auth.sessions SET last_seen_at = now() WHERE id = p_id AND revoked_at IS NULL
$$;

-- A new secret for a live session (privilege change): only if it still has the old one, so of
-- two requests racing with the old cookie one renews and the other is refused.
CREATE FUNCTION auth.renew_session(p_id text, p_old_lookup text, p_new_lookup text, p_role text,
                                   p_mfa boolean DEFAULT false) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH done AS (
        UPDATE auth.sessions SET lookup = p_new_lookup, role = p_role, last_seen_at = now(),
                                 mfa_at = CASE WHEN p_mfa THEN now() ELSE mfa_at END
        WHERE id = p_id AND lookup = p_old_lookup AND revoked_at IS NULL RETURNING 1
    ) SELECT EXISTS (SELECT 1 FROM done)
$$;

-- Revoke one session of a person (`p_session_id`), or all of them but `p_except` (NULL: all).
CREATE FUNCTION auth.revoke_sessions(p_user_id text, p_session_id text, p_except text) RETURNS int
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH done AS (
        UPDATE auth.sessions SET revoked_at = now()
        WHERE user_id = p_user_id AND revoked_at IS NULL AND expires_at > now()
          AND (p_session_id IS NULL OR id = p_session_id) AND (p_except IS NULL OR id <> p_except)
        RETURNING 1
    ) SELECT count(*)::int FROM done
$$;

-- A person's sessions that have not been revoked and have not passed their lifetime.
CREATE FUNCTION auth.user_sessions(p_user_id text)
RETURNS TABLE (id text, org_id text, method text, ip text, user_agent text, created_at timestamptz,
               last_seen_at timestamptz, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT id, org_id, method, ip, user_agent, created_at, last_seen_at, expires_at FROM auth.sessions
    WHERE user_id = p_user_id AND revoked_at IS NULL AND expires_at > now()
    ORDER BY created_at DESC, id LIMIT 100
$$;

REVOKE ALL ON FUNCTION auth.start_session(text, text, text, text, text, text, text, timestamptz, boolean),
    auth.find_session(text), auth.touch_session(text), auth.renew_session(text, text, text, text, boolean),
    auth.revoke_sessions(text, text, text), auth.user_sessions(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.start_session(text, text, text, text, text, text, text, timestamptz, boolean),
    auth.find_session(text), auth.touch_session(text), auth.renew_session(text, text, text, text, boolean),
    auth.revoke_sessions(text, text, text), auth.user_sessions(text) TO bastion_auth;

-- Who a person is at an identity provider: `provider` is `github`, `github-enterprise` (the one
-- GitHub Enterprise server a deployment configures) or `google`; `subject` the provider's stable
-- user id (never the e-mail address, which can change hands). A sign-in finds the person by this
-- pair only: an identity is linked to an account explicitly (seeded, or later by the signed-in
-- account itself), never because an e-mail address matches.
CREATE TABLE auth.identities (
    provider    text NOT NULL,
    subject     text NOT NULL,
    user_id     text NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    email       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX ON auth.identities (user_id);
ALTER TABLE auth.identities ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON auth.identities FROM PUBLIC;

-- The person linked to an identity and the organisation a sign-in opens (their oldest membership;
-- NULL org: a member of none).
CREATE FUNCTION auth.identity_signin(p_provider text, p_subject text)
RETURNS TABLE (user_id text, org_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT i.user_id, (SELECT m.org_id FROM auth.memberships m WHERE m.user_id = i.user_id
                       ORDER BY m.created_at, m.org_id LIMIT 1)
    FROM auth.identities i WHERE i.provider = p_provider AND i.subject = p_subject
$$;
REVOKE ALL ON FUNCTION auth.identity_signin(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.identity_signin(text, text) TO bastion_auth;

-- Passkeys (WebAuthn credentials) of a person: several each; `sign_count` is the authenticator's
-- counter as last seen (auth refuses an assertion that does not move a non-zero counter on: a
-- cloned authenticator). Challenges a ceremony used are remembered until they expire, so one
-- signed assertion cannot be replayed, on any replica.
CREATE TABLE auth.passkeys (
    id             text PRIMARY KEY,
    credential_id  bytea NOT NULL UNIQUE,
    user_id        text NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    public_key     bytea NOT NULL,
    sign_count     bigint NOT NULL DEFAULT 0,
    name           text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz
);
CREATE INDEX ON auth.passkeys (user_id);
ALTER TABLE auth.passkeys ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON auth.passkeys FROM PUBLIC;

CREATE TABLE auth.used_challenges (
    digest      text PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);
ALTER TABLE auth.used_challenges ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON auth.used_challenges FROM PUBLIC;

-- True the first time a challenge is used, false on any replay.
CREATE FUNCTION auth.use_challenge(p_digest text, p_expires_at timestamptz) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH gone AS (DELETE FROM auth.used_challenges WHERE expires_at < now()),
    added AS (INSERT INTO auth.used_challenges (digest, expires_at) VALUES (p_digest, p_expires_at)
              ON CONFLICT (digest) DO NOTHING RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM added)
$$;

CREATE FUNCTION auth.add_passkey(p_id text, p_credential_id bytea, p_user_id text, p_public_key bytea,
                                 p_sign_count bigint, p_name text) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH added AS (
        INSERT INTO auth.passkeys (id, credential_id, user_id, public_key, sign_count, name)
        VALUES (p_id, p_credential_id, p_user_id, p_public_key, p_sign_count, p_name)
        ON CONFLICT (credential_id) DO NOTHING RETURNING 1
    ) SELECT EXISTS (SELECT 1 FROM added)
$$;

-- A passkey by credential id, with the organisation a sign-in opens (oldest membership).
CREATE FUNCTION auth.find_passkey(p_credential_id bytea)
RETURNS TABLE (id text, user_id text, public_key bytea, sign_count bigint, org_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.id, p.user_id, p.public_key, p.sign_count,
           (SELECT m.org_id FROM auth.memberships m WHERE m.user_id = p.user_id ORDER BY m.created_at, m.org_id LIMIT 1)
    FROM auth.passkeys p WHERE p.credential_id = p_credential_id
$$;

-- Move the counter on, only from the value the verification saw (a concurrent use loses).
CREATE FUNCTION auth.passkey_used(p_id text, p_old bigint, p_new bigint) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH done AS (UPDATE auth.passkeys SET sign_count = p_new, last_used_at = now()
                  WHERE id = p_id AND sign_count = p_old RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM done)
$$;

CREATE FUNCTION auth.user_passkeys(p_user_id text)
RETURNS TABLE (id text, name text, created_at timestamptz, last_used_at timestamptz, credential_id bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT id, name, created_at, last_used_at, credential_id FROM auth.passkeys WHERE user_id = p_user_id
    ORDER BY created_at, id
$$;

CREATE FUNCTION auth.remove_passkey(p_user_id text, p_id text) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH done AS (DELETE FROM auth.passkeys WHERE user_id = p_user_id AND id = p_id RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM done)
$$;

REVOKE ALL ON FUNCTION auth.use_challenge(text, timestamptz), auth.add_passkey(text, bytea, text, bytea, bigint, text),
    auth.find_passkey(bytea), auth.passkey_used(text, bigint, bigint), auth.user_passkeys(text),
    auth.remove_passkey(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.use_challenge(text, timestamptz), auth.add_passkey(text, bytea, text, bytea, bigint, text),
    auth.find_passkey(bytea), auth.passkey_used(text, bigint, bigint), auth.user_passkeys(text),
    auth.remove_passkey(text, text) TO bastion_auth;

-- TOTP (RFC 6238) as a second factor: the seed is sealed by auth (AES-256-GCM under a key derived
-- from its pepper, bound to the person), `last_step` the last 30-second step a code was accepted
-- for (a code works once). Recovery codes are stored as HMAC digests and work once each.
CREATE TABLE auth.totp (
    user_id       text PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    sealed_seed   bytea NOT NULL,
    confirmed_at  timestamptz,
    last_step     bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- the session that started a pending (unconfirmed) enrolment: only it may confirm the seed,
    -- and another session may replace it only once it is 10 minutes old
    session_id    text NOT NULL DEFAULT '',
    -- wrong codes (TOTP or recovery) in a row, shared by every auth replica; at the threshold the
    -- person's second-factor checks pause until `locked_until`, for longer each time (`lockouts`)
    failures      int NOT NULL DEFAULT 0,
    lockouts      int NOT NULL DEFAULT 0,
    locked_until  timestamptz
);
CREATE TABLE auth.recovery_codes (
    user_id  text NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    digest   text NOT NULL,
    used_at  timestamptz,
    PRIMARY KEY (user_id, digest)
);
ALTER TABLE auth.totp ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.recovery_codes ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON auth.totp, auth.recovery_codes FROM PUBLIC;

-- A new, unconfirmed seed started by session `p_session_id` (replacing an unconfirmed one of the
-- same session, or one older than 10 minutes); false if TOTP is already on or another session's
-- enrolment is in progress.
CREATE FUNCTION auth.totp_enroll(p_user_id text, p_sealed bytea, p_session_id text) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH done AS (
        INSERT INTO auth.totp (user_id, sealed_seed, session_id) VALUES (p_user_id, p_sealed, p_session_id)
        ON CONFLICT (user_id) DO UPDATE SET sealed_seed = excluded.sealed_seed, last_step = 0, created_at = now(),
                                            session_id = excluded.session_id
            WHERE auth.totp.confirmed_at IS NULL
              AND (auth.totp.session_id = excluded.session_id OR auth.totp.created_at < now() - interval '10 minutes')
        RETURNING 1
    ) SELECT EXISTS (SELECT 1 FROM done)
$$;

CREATE FUNCTION auth.totp_get(p_user_id text)
RETURNS TABLE (sealed_seed bytea, confirmed boolean, last_step bigint, session_id text, locked_until timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT sealed_seed, confirmed_at IS NOT NULL, last_step, session_id,
           CASE WHEN locked_until > now() THEN locked_until END
    FROM auth.totp WHERE user_id = p_user_id
$$;

-- A wrong code: count it; at `p_threshold` in a row, pause the person's checks for
-- `p_base_s` * 2^(earlier lockouts) seconds (at most a day). The end of the pause if this miss
-- started one, else NULL.
CREATE FUNCTION auth.totp_failed(p_user_id text, p_threshold int, p_base_s int) RETURNS timestamptz
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH done AS (
        UPDATE auth.totp SET
            failures = CASE WHEN failures + 1 >= p_threshold THEN 0 ELSE failures + 1 END,
            lockouts = CASE WHEN failures + 1 >= p_threshold THEN lockouts + 1 ELSE lockouts END,
            locked_until = CASE WHEN failures + 1 >= p_threshold
                THEN now() + make_interval(secs => least(86400, p_base_s * power(2, least(lockouts, 16))))
                ELSE locked_until END
        WHERE user_id = p_user_id
        RETURNING failures, locked_until
    ) SELECT locked_until FROM done WHERE failures = 0
$$;

-- A right code: the count of misses starts again.
CREATE FUNCTION auth.totp_succeeded(p_user_id text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    UPDATE auth.totp SET failures = 0, lockouts = 0 WHERE user_id = p_user_id AND (failures > 0 OR lockouts > 0)
$$;

-- Accept a code for `p_step` once: only moving past the last accepted step.
CREATE FUNCTION auth.totp_accept(p_user_id text, p_step bigint) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH done AS (UPDATE auth.totp SET last_step = p_step WHERE user_id = p_user_id AND last_step < p_step RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM done)
$$;

-- Turn TOTP on with a fresh set of recovery codes (the old ones are gone).
CREATE FUNCTION auth.totp_confirm(p_user_id text, p_digests text[]) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    UPDATE auth.totp SET confirmed_at = now() WHERE user_id = p_user_id;
    DELETE FROM auth.recovery_codes WHERE user_id = p_user_id;
    INSERT INTO auth.recovery_codes (user_id, digest) SELECT p_user_id, d FROM unnest(p_digests) AS d;
$$;

CREATE FUNCTION auth.use_recovery_code(p_user_id text, p_digest text) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH done AS (UPDATE auth.recovery_codes SET used_at = now()
                  WHERE user_id = p_user_id AND digest = p_digest AND used_at IS NULL RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM done)
$$;

-- Whether the person has a second factor already (a passkey, or TOTP turned on): adding or
-- removing one then needs a session that showed a second factor recently.
CREATE FUNCTION auth.has_second_factor(p_user_id text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM auth.passkeys WHERE user_id = p_user_id)
        OR EXISTS (SELECT 1 FROM auth.totp WHERE user_id = p_user_id AND confirmed_at IS NOT NULL)
$$;

REVOKE ALL ON FUNCTION auth.totp_enroll(text, bytea, text), auth.totp_get(text), auth.totp_accept(text, bigint),
    auth.totp_confirm(text, text[]), auth.use_recovery_code(text, text), auth.totp_failed(text, int, int),
    auth.totp_succeeded(text), auth.has_second_factor(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.totp_enroll(text, bytea, text), auth.totp_get(text), auth.totp_accept(text, bigint),
    auth.totp_confirm(text, text[]), auth.use_recovery_code(text, text), auth.totp_failed(text, int, int),
    auth.totp_succeeded(text), auth.has_second_factor(text) TO bastion_auth;

-- A person removed from an organisation loses their sessions there for good: re-adding them
-- later must not bring an old cookie back to life (judge() only refuses while they are not a member).
CREATE FUNCTION auth.revoke_sessions_of_removed_member() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE auth.sessions SET revoked_at = now()
    WHERE user_id = OLD.user_id AND org_id = OLD.org_id AND revoked_at IS NULL;
    RETURN OLD;
END
$$;
REVOKE ALL ON FUNCTION auth.revoke_sessions_of_removed_member() FROM PUBLIC;
CREATE TRIGGER revoke_sessions_on_removal AFTER DELETE ON auth.memberships
    FOR EACH ROW EXECUTE FUNCTION auth.revoke_sessions_of_removed_member();

-- The management API audits what a signed-in person does with actor type 'user': the audit
-- consumer checks the person is a member of the organisation the event claims.
CREATE OR REPLACE FUNCTION audit.actor_belongs(p_actor_type text, p_actor_id text, p_org_id text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE p_actor_type
        WHEN 'api_key' THEN EXISTS (SELECT 1 FROM auth.api_keys WHERE id = p_actor_id AND org_id = p_org_id)
        WHEN 'management_token' THEN EXISTS (SELECT 1 FROM auth.admin_tokens WHERE id = p_actor_id AND org_id = p_org_id)
        WHEN 'admin_token' THEN EXISTS (SELECT 1 FROM auth.admin_tokens WHERE id = p_actor_id AND org_id = p_org_id)
        WHEN 'person' THEN EXISTS (SELECT 1 FROM auth.memberships WHERE user_id = p_actor_id AND org_id = p_org_id)
        WHEN 'user' THEN EXISTS (SELECT 1 FROM auth.memberships WHERE user_id = p_actor_id AND org_id = p_org_id)
        ELSE false
    END
$$;
