-- Per-project model aliases: a name a project's clients may ask for, routed to a target that is
-- itself routable (an exact model of a provider, or `provider/model`). One level only: a target
-- is never looked up as an alias again. The vault validates names (no whitespace, control or
-- format characters, no '/'); the checks here are a backstop.
CREATE TABLE vault.aliases (
    org_id      text NOT NULL,
    project_id  text NOT NULL,
    alias       text NOT NULL CHECK (char_length(alias) BETWEEN 1 AND 128 AND alias !~ '[[:space:][:cntrl:]/]'),
    target      text NOT NULL CHECK (char_length(target) BETWEEN 1 AND 256 AND target !~ '[[:space:][:cntrl:]]'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, project_id, alias)
);

ALTER TABLE vault.aliases ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON vault.aliases USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());

-- Only the vault reads and writes aliases; the management API asks it over the bus.
GRANT SELECT, INSERT, UPDATE, DELETE ON vault.aliases TO bastion_vault;
