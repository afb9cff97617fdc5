-- Per-service database roles, row-level security per tenant, users and memberships.
--
-- Every service connects as its own NOLOGIN-by-default role (the deployment grants LOGIN and a
-- password); none is a superuser or owns the tables, so RLS applies to all of them. The tenant is
-- set per transaction with set_config('bastion.org_id', …, true); policies compare against it,
-- so a connection that did not set it sees and writes nothing (deny by default).

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['bastion_auth', 'bastion_api', 'bastion_vault', 'bastion_metering',
                             'bastion_audit', 'bastion_guardrails', 'bastion_edge']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', r);
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION public.bastion_tenant() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('bastion.org_id', true), '')
$$;

-- Users are global; memberships tie them to organisations with a role.
CREATE TABLE auth.users (
    id          text PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.memberships (
    org_id      text NOT NULL REFERENCES auth.orgs (id) ON DELETE CASCADE,
    user_id     text NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);

ALTER TABLE auth.api_keys ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE auth.api_keys ADD COLUMN grace_lookup text UNIQUE;
ALTER TABLE auth.api_keys ADD COLUMN grace_hash text;
ALTER TABLE auth.api_keys ADD COLUMN grace_until timestamptz;
ALTER TABLE auth.admin_tokens ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- The audit chain's head lives outside the tenant-scoped table, so the writer can extend one
-- global chain without reading other tenants' rows.
CREATE TABLE audit.chain_head (
    id    boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq   bigint NOT NULL,
    hash  bytea NOT NULL
);
INSERT INTO audit.chain_head (seq, hash)
SELECT coalesce(max(seq), 0),
       coalesce((SELECT hash FROM audit.events ORDER BY seq DESC LIMIT 1), '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
FROM audit.events;

-- ---------------------------------------------------------------- row-level security
ALTER TABLE auth.orgs ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.admin_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE vault.data_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE vault.providers ENABLE ROW LEVEL SECURITY;
ALTER TABLE vault.provider_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE vault.models ENABLE ROW LEVEL SECURITY;
ALTER TABLE metering.usage_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit.events ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant ON auth.orgs USING (id = bastion_tenant()) WITH CHECK (id = bastion_tenant());
CREATE POLICY tenant ON auth.projects USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON auth.api_keys USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON auth.admin_tokens USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON auth.memberships USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON auth.users
    USING (EXISTS (SELECT 1 FROM auth.memberships m WHERE m.user_id = users.id AND m.org_id = bastion_tenant()));
CREATE POLICY tenant ON vault.data_keys USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON vault.providers USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON vault.provider_keys USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON vault.models USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON metering.usage_events USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
-- Audit rows of requests refused before a tenant was known carry org_id ''. A transaction with no
-- tenant set sees only those rows (never a tenant's); the management API always sets a tenant.
CREATE POLICY tenant ON audit.events USING (org_id = coalesce(bastion_tenant(), ''))
    WITH CHECK (org_id = coalesce(bastion_tenant(), ''));

-- ---------------------------------------------------------------- credential lookups
-- Auth must find a key by its digest before it knows the tenant. Instead of letting it read every
-- tenant's keys, it may only call these functions, which return the single matching row.
CREATE FUNCTION auth.find_key(p_lookup text)
RETURNS TABLE (id text, org_id text, project_id text, hash text, status text, plan text,
               expires_at timestamptz, usage_limit_usd float8, rate_limit_rpm integer,
               allowed_models text[], allowed_ips text[], grace boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT k.id, k.org_id, k.project_id,
           CASE WHEN k.lookup = p_lookup THEN k.hash ELSE k.grace_hash END,
           k.status, o.plan,
           CASE WHEN k.lookup = p_lookup THEN k.expires_at
                ELSE least(k.grace_until, coalesce(k.expires_at, k.grace_until)) END,
           k.usage_limit_usd::float8, k.rate_limit_rpm, k.allowed_models, k.allowed_ips,
           k.lookup <> p_lookup
    FROM auth.api_keys k JOIN auth.orgs o ON o.id = k.org_id
    WHERE k.lookup = p_lookup OR (k.grace_lookup = p_lookup AND k.grace_until > now())
$$;

CREATE FUNCTION auth.find_token(p_lookup text)
RETURNS TABLE (id text, org_id text, role text, hash text, status text, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT id, org_id, role, hash, status, expires_at FROM auth.admin_tokens WHERE lookup = p_lookup
$$;

-- Keys changed since a point in time (the auth cache's safety net when an invalidation is missed).
CREATE FUNCTION auth.changed_keys(p_since timestamptz)
RETURNS TABLE (id text, updated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT id, updated_at FROM auth.api_keys WHERE updated_at > p_since
    UNION ALL
    SELECT id, updated_at FROM auth.admin_tokens WHERE updated_at > p_since
$$;

-- Users are global: the management API may find-or-create one by e-mail without seeing the others.
CREATE FUNCTION auth.ensure_user(p_id text, p_email text, p_name text) RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO auth.users (id, email, name) VALUES (p_id, lower(p_email), p_name)
    ON CONFLICT (email) DO UPDATE SET email = excluded.email
    RETURNING id
$$;

REVOKE ALL ON FUNCTION auth.ensure_user(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.ensure_user(text, text, text) TO bastion_api;
REVOKE ALL ON FUNCTION auth.find_key(text), auth.find_token(text), auth.changed_keys(timestamptz) FROM PUBLIC;

-- ---------------------------------------------------------------- grants (least privilege)
GRANT USAGE ON SCHEMA auth TO bastion_auth, bastion_api;
GRANT EXECUTE ON FUNCTION public.bastion_tenant() TO bastion_auth, bastion_api, bastion_vault, bastion_metering, bastion_audit;
GRANT EXECUTE ON FUNCTION auth.find_key(text), auth.find_token(text), auth.changed_keys(timestamptz) TO bastion_auth;
-- auth issues, rotates and revokes keys and tokens (it alone knows the pepper)
GRANT SELECT ON auth.orgs, auth.projects TO bastion_auth;
GRANT SELECT, INSERT, UPDATE ON auth.api_keys, auth.admin_tokens TO bastion_auth;
-- the management API reads keys (masked columns only) and manages tenancy
GRANT SELECT, UPDATE ON auth.orgs TO bastion_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON auth.projects, auth.memberships TO bastion_api;
GRANT SELECT ON auth.users TO bastion_api;
GRANT SELECT (id, org_id, project_id, name, masked, status, usage_limit_usd, rate_limit_rpm, allowed_models,
              allowed_ips, created_at, updated_at, expires_at, revoked_at, grace_until)
    ON auth.api_keys TO bastion_api;
GRANT SELECT (id, org_id, name, role, masked, status, created_at, updated_at, expires_at, revoked_at)
    ON auth.admin_tokens TO bastion_api;

GRANT USAGE ON SCHEMA vault TO bastion_vault, bastion_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA vault TO bastion_vault;
GRANT SELECT, INSERT, UPDATE, DELETE ON vault.providers, vault.models TO bastion_api;

GRANT USAGE ON SCHEMA metering TO bastion_metering, bastion_api;
GRANT SELECT, INSERT ON metering.usage_events TO bastion_metering;
GRANT SELECT ON metering.usage_events TO bastion_api;

GRANT USAGE ON SCHEMA audit TO bastion_audit, bastion_api;
GRANT SELECT, INSERT ON audit.events TO bastion_audit;
GRANT USAGE ON SEQUENCE audit.events_seq_seq TO bastion_audit;
GRANT SELECT, UPDATE ON audit.chain_head TO bastion_audit;
GRANT SELECT ON audit.events TO bastion_api;
