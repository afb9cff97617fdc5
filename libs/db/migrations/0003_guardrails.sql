-- Custom guardrail rules per organisation (project_id NULL) or project, and the record of
-- violations: rule, type, action, key, request and a hash of the text — never the text itself.
CREATE SCHEMA IF NOT EXISTS guard;

CREATE TABLE guard.rules (
    id          text PRIMARY KEY,
    org_id      text NOT NULL,
    project_id  text,
    name        text NOT NULL DEFAULT '',
    kind        text NOT NULL CHECK (kind IN ('blocked_terms', 'regex', 'topic_restriction', 'pii', 'secrets', 'injection')),
    action      text NOT NULL CHECK (action IN ('block', 'warn', 'redact')),
    monitor     boolean NOT NULL DEFAULT false,
    direction   text NOT NULL DEFAULT 'both' CHECK (direction IN ('input', 'output', 'both')),
    config      jsonb NOT NULL DEFAULT '{}',
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON guard.rules (org_id, project_id);

CREATE TABLE guard.violations (
    id            bigserial PRIMARY KEY,
    ts            timestamptz NOT NULL DEFAULT now(),
    org_id        text NOT NULL,
    project_id    text NOT NULL,
    key_id        text NOT NULL,
    request_id    text NOT NULL,
    rule_id       text NOT NULL,
    type          text NOT NULL,
    action        text NOT NULL,
    monitor       boolean NOT NULL,
    direction     text NOT NULL,
    content_hash  text NOT NULL
);
CREATE INDEX ON guard.violations (org_id, ts);
CREATE INDEX ON guard.violations (request_id);

ALTER TABLE guard.rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE guard.violations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON guard.rules USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON guard.violations USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());

GRANT USAGE ON SCHEMA guard TO bastion_guardrails, bastion_api;
GRANT EXECUTE ON FUNCTION public.bastion_tenant() TO bastion_guardrails;
GRANT SELECT ON guard.rules TO bastion_guardrails;
GRANT INSERT, SELECT ON guard.violations TO bastion_guardrails;
GRANT USAGE ON SEQUENCE guard.violations_id_seq TO bastion_guardrails;
GRANT SELECT, INSERT, UPDATE, DELETE ON guard.rules TO bastion_api;
GRANT SELECT ON guard.violations TO bastion_api;
