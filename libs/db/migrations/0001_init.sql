-- One schema per service. Tenancy tables (orgs, projects, keys, tokens) belong to auth;
-- provider routing and sealed provider keys to vault; usage to metering; the trail to audit.
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS vault;
CREATE SCHEMA IF NOT EXISTS metering;
CREATE SCHEMA IF NOT EXISTS audit;

CREATE TABLE auth.orgs (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    plan        text NOT NULL DEFAULT 'free',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.projects (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES auth.orgs (id) ON DELETE CASCADE,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);
CREATE INDEX ON auth.projects (org_id);

-- API keys are stored only as hashes: `lookup` is HMAC-SHA256(pepper, key) for the index,
-- `hash` the argon2id hash that is verified. `masked` is safe to list.
CREATE TABLE auth.api_keys (
    id               text PRIMARY KEY,
    org_id           text NOT NULL REFERENCES auth.orgs (id) ON DELETE CASCADE,
    project_id       text NOT NULL REFERENCES auth.projects (id) ON DELETE CASCADE,
    name             text NOT NULL DEFAULT '',
    lookup           text NOT NULL UNIQUE,
    hash             text NOT NULL,
    masked           text NOT NULL,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    usage_limit_usd  numeric(14, 6),
    rate_limit_rpm   integer CHECK (rate_limit_rpm IS NULL OR rate_limit_rpm > 0),
    allowed_models   text[] NOT NULL DEFAULT '{}',
    allowed_ips      text[] NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz,
    revoked_at       timestamptz
);
CREATE INDEX ON auth.api_keys (org_id, project_id);

CREATE TABLE auth.admin_tokens (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES auth.orgs (id) ON DELETE CASCADE,
    name        text NOT NULL DEFAULT '',
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    lookup      text NOT NULL UNIQUE,
    hash        text NOT NULL,
    masked      text NOT NULL,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz
);

-- Envelope encryption: one data key per tenant, wrapped by a master key (kid = its id).
CREATE TABLE vault.data_keys (
    org_id      text PRIMARY KEY,
    kid         text NOT NULL,
    wrapped     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    rotated_at  timestamptz
);

CREATE TABLE vault.providers (
    id          text PRIMARY KEY,
    org_id      text NOT NULL,
    name        text NOT NULL,
    adapter     text NOT NULL CHECK (adapter IN ('openai', 'anthropic', 'gemini', 'openai_compatible')),
    base_url    text NOT NULL,
    timeout_s   real NOT NULL DEFAULT 60,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);

-- Provider keys sealed with AES-256-GCM under the tenant's data key; the associated data
-- binds each ciphertext to (org, provider, key id, version).
CREATE TABLE vault.provider_keys (
    id           text PRIMARY KEY,
    org_id       text NOT NULL,
    provider_id  text NOT NULL REFERENCES vault.providers (id) ON DELETE CASCADE,
    version      integer NOT NULL DEFAULT 1,
    sealed       bytea NOT NULL,
    masked       text NOT NULL,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON vault.provider_keys (provider_id, status);

CREATE TABLE vault.models (
    org_id          text NOT NULL,
    name            text NOT NULL,
    provider_id     text NOT NULL REFERENCES vault.providers (id) ON DELETE CASCADE,
    upstream_model  text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, name)
);

-- One row per data-plane request; request_id makes the consumer idempotent.
CREATE TABLE metering.usage_events (
    request_id         text PRIMARY KEY,
    ts                 timestamptz NOT NULL,
    org_id             text NOT NULL,
    project_id         text NOT NULL,
    key_id             text NOT NULL,
    model              text NOT NULL,
    provider           text NOT NULL,
    status             integer NOT NULL,
    prompt_tokens      integer NOT NULL DEFAULT 0,
    completion_tokens  integer NOT NULL DEFAULT 0,
    cached_tokens      integer NOT NULL DEFAULT 0,
    estimated          boolean NOT NULL DEFAULT false,
    latency_ms         integer NOT NULL DEFAULT 0,
    stream             boolean NOT NULL DEFAULT false,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON metering.usage_events (org_id, ts);
CREATE INDEX ON metering.usage_events (key_id, ts);

-- Append-only, hash-chained: hash = SHA-256(prev_hash || canonical event bytes).
CREATE TABLE audit.events (
    seq          bigserial PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    ts           timestamptz NOT NULL,
    org_id       text NOT NULL,
    actor_type   text NOT NULL,
    actor_id     text NOT NULL,
    action       text NOT NULL,
    resource     text NOT NULL,
    success      boolean NOT NULL,
    request_id   text NOT NULL DEFAULT '',
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    status       integer NOT NULL DEFAULT 0,
    detail       jsonb NOT NULL DEFAULT '{}',
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON audit.events (org_id, ts);
CREATE INDEX ON audit.events (request_id);

-- Append-only at the database level: UPDATE is refused for everyone, the table owner included; no
-- service role is granted DELETE (retention is a separate, privileged job).
CREATE FUNCTION audit.forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit.events is append-only';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE ON audit.events
    FOR EACH ROW EXECUTE FUNCTION audit.forbid_change();
