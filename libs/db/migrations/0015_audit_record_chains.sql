-- The audit trail for compliance (issue 13).
--
-- 1. The record: exactly the specified fields plus actor type, request id and the chain fields.
--    actor_id → user_id, ip → ip_address; "type:id" resources split; detail (text → text) and
--    the HTTP status folded into metadata (a JSON object); legacy actor type names renamed.
-- 2. A chain per organisation ('' for rows no organisation could be tied to, read by operators):
--    chain_seq is the row's place in its chain, hash = SHA-256(prev_hash || canonical row), the
--    canonical row being computed from stored columns (libs/audit/record.py; the SQL below makes
--    the same bytes for the rows migrated here, which are rechained per organisation — the global
--    chain they were on cannot be verified per tenant). Heads in audit.chains (one row lock per
--    chain serialises writers across replicas; UNIQUE (org_id, chain_seq) makes a fork impossible).
-- 3. Signed checkpoints (audit.checkpoints), append-only like the rows.
-- 4. Retention per plan: free 30 days, pro 90, enterprise auth.orgs.audit_retention_days (default
--    365); rows are removed only by audit.prune (SECURITY DEFINER): expired rows at or before a
--    prune checkpoint, in batches, and the head checkpoints of what is gone; each run recorded in
--    audit.retention_runs.

ALTER TABLE audit.events DISABLE TRIGGER events_append_only;

ALTER TABLE audit.events RENAME COLUMN actor_id TO user_id;
ALTER TABLE audit.events RENAME COLUMN ip TO ip_address;
ALTER TABLE audit.events
    ADD COLUMN resource_type text NOT NULL DEFAULT '',
    ADD COLUMN resource_id text NOT NULL DEFAULT '',
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN chain_seq bigint;

UPDATE audit.events SET
    resource_type = CASE WHEN resource IN ('', '-') OR position(':' in resource) = 0 THEN ''
                         ELSE split_part(resource, ':', 1) END,
    resource_id = CASE WHEN resource IN ('', '-') THEN ''
                       WHEN position(':' in resource) = 0 THEN resource
                       ELSE substr(resource, position(':' in resource) + 1) END,
    metadata = detail || CASE WHEN status <> 0 THEN jsonb_build_object('status', status) ELSE '{}' END,
    actor_type = CASE actor_type WHEN 'admin_token' THEN 'management_token' WHEN 'user' THEN 'person'
                                 ELSE actor_type END;

ALTER TABLE audit.events DROP COLUMN resource, DROP COLUMN detail, DROP COLUMN status;
CREATE INDEX ON audit.events (org_id, (metadata ->> 'correlation_id')) WHERE metadata ? 'correlation_id';

-- The canonical bytes of a row (libs/audit/record.py:canonical) for the flat metadata of
-- migrated rows (string or number values); used only here, then dropped.
CREATE FUNCTION audit.canonical_0015(r audit.events) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to('[' || r.chain_seq || ',' || to_json(r.org_id)::text || ',' || to_json(r.event_id)::text
        || ',' || (extract(epoch FROM r.ts) * 1000000)::bigint || ',' || to_json(r.actor_type)::text
        || ',' || to_json(r.user_id)::text || ',' || to_json(r.action)::text || ',' || to_json(r.resource_type)::text
        || ',' || to_json(r.resource_id)::text || ',' || CASE WHEN r.success THEN 'true' ELSE 'false' END
        || ',' || to_json(r.request_id)::text || ',' || to_json(r.ip_address)::text
        || ',' || to_json(r.user_agent)::text || ','
        || coalesce((SELECT '{' || string_agg(to_json(k)::text || ':' || CASE jsonb_typeof(v)
                        WHEN 'string' THEN to_json(v #>> '{}')::text ELSE v::text END, ',' ORDER BY k COLLATE "C")
                     || '}' FROM jsonb_each(r.metadata) AS m(k, v)), '{}')
        || ']', 'UTF8')
$$;

DO $$
DECLARE
    r audit.events;
    cur_org text := NULL;
    n bigint := 0;
    prev bytea;
    digest bytea;
BEGIN
    FOR r IN SELECT * FROM audit.events ORDER BY org_id, seq LOOP
        IF cur_org IS DISTINCT FROM r.org_id THEN
            cur_org := r.org_id;
            n := 0;
            prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
        END IF;
        n := n + 1;
        r.chain_seq := n;
        digest := sha256(prev || audit.canonical_0015(r));
        UPDATE audit.events SET chain_seq = n, prev_hash = prev, hash = digest WHERE seq = r.seq;
        prev := digest;
    END LOOP;
END $$;
DROP FUNCTION audit.canonical_0015(audit.events);

ALTER TABLE audit.events ALTER COLUMN chain_seq SET NOT NULL;
ALTER TABLE audit.events ADD CONSTRAINT events_chain_position UNIQUE (org_id, chain_seq);
CREATE INDEX ON audit.events (org_id, ts, chain_seq);
ALTER TABLE audit.events ENABLE TRIGGER events_append_only;

-- ---------------------------------------------------------------- chain heads
CREATE TABLE audit.chains (
    org_id          text PRIMARY KEY,
    chain_seq       bigint NOT NULL DEFAULT 0,
    hash            bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
    checkpoint_seq  bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit.chains (org_id, chain_seq, hash)
SELECT DISTINCT ON (org_id) org_id, chain_seq, hash FROM audit.events ORDER BY org_id, chain_seq DESC;
DROP TABLE audit.chain_head;

-- ---------------------------------------------------------------- signed checkpoints
CREATE TABLE audit.checkpoints (
    org_id      text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('head', 'prune')),
    chain_seq   bigint NOT NULL,
    hash        bytea NOT NULL,
    signed_at   timestamptz NOT NULL,
    key_id      text NOT NULL,
    signature   bytea NOT NULL,
    PRIMARY KEY (org_id, kind, chain_seq)
);
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE ON audit.checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit.forbid_change();

-- ---------------------------------------------------------------- retention
ALTER TABLE auth.orgs ADD COLUMN audit_retention_days integer
    CHECK (audit_retention_days IS NULL OR audit_retention_days BETWEEN 1 AND 3650);

CREATE TABLE audit.retention_runs (
    id           bigserial PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    instance     text NOT NULL DEFAULT '',
    chains       integer NOT NULL DEFAULT 0,
    deleted      bigint NOT NULL DEFAULT 0,
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed'))
);

-- Days an organisation's audit rows are kept: its plan's (free 30, pro 90), an enterprise's own
-- setting (default 365); rows of no organisation ('') 90 days.
CREATE FUNCTION audit.retention_days(p_org_id text) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN p_org_id = '' THEN 90 ELSE coalesce(
        (SELECT CASE o.plan WHEN 'free' THEN 30 WHEN 'pro' THEN 90
                            WHEN 'enterprise' THEN coalesce(o.audit_retention_days, 365) ELSE 30 END
         FROM auth.orgs o WHERE o.id = p_org_id), 30) END
$$;

-- Remove at most p_limit rows of a chain: only rows older than the organisation's retention and
-- at or before its latest prune checkpoint (which the audit service signs before it prunes), so
-- even the audit role cannot remove a recent row or open a gap a verifier would not see.
CREATE FUNCTION audit.prune(p_org_id text, p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    through bigint;
    removed integer;
BEGIN
    SELECT max(chain_seq) INTO through FROM audit.checkpoints WHERE org_id = p_org_id AND kind = 'prune';
    IF through IS NULL THEN
        RETURN 0;
    END IF;
    WITH doomed AS (
        SELECT seq FROM audit.events
        WHERE org_id = p_org_id AND chain_seq <= through
          AND ts < now() - make_interval(days => audit.retention_days(p_org_id))
        ORDER BY chain_seq LIMIT p_limit
    )
    DELETE FROM audit.events e USING doomed WHERE e.seq = doomed.seq;
    GET DIAGNOSTICS removed = ROW_COUNT;
    -- head checkpoints of positions whose rows are all gone pin nothing any more (the prune
    -- checkpoint and every later head stay)
    DELETE FROM audit.checkpoints c
    WHERE c.org_id = p_org_id AND c.kind = 'head' AND c.chain_seq <= through
      AND c.chain_seq < coalesce((SELECT min(e.chain_seq) FROM audit.events e WHERE e.org_id = p_org_id), through + 1);
    RETURN removed;
END
$$;

-- ---------------------------------------------------------------- row-level security and grants
ALTER TABLE audit.chains ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit.checkpoints ENABLE ROW LEVEL SECURITY;
-- the writer extends and signs every chain; the management API reads its tenant's only
CREATE POLICY writer ON audit.chains TO bastion_audit USING (true) WITH CHECK (true);
CREATE POLICY writer ON audit.checkpoints TO bastion_audit USING (true) WITH CHECK (true);
CREATE POLICY tenant ON audit.chains TO bastion_api USING (org_id = coalesce(bastion_tenant(), ''));
CREATE POLICY tenant ON audit.checkpoints TO bastion_api USING (org_id = coalesce(bastion_tenant(), ''));

GRANT SELECT, INSERT, UPDATE ON audit.chains TO bastion_audit;
GRANT SELECT, INSERT ON audit.checkpoints TO bastion_audit;
GRANT SELECT, INSERT, UPDATE ON audit.retention_runs TO bastion_audit;
GRANT USAGE ON SEQUENCE audit.retention_runs_id_seq TO bastion_audit;
GRANT SELECT ON audit.chains, audit.checkpoints TO bastion_api;
REVOKE ALL ON FUNCTION audit.retention_days(text), audit.prune(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.retention_days(text), audit.prune(text, integer) TO bastion_audit;

-- actor_belongs: the management token's new name (the old one is still answered)
CREATE OR REPLACE FUNCTION audit.actor_belongs(p_actor_type text, p_actor_id text, p_org_id text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE p_actor_type
        WHEN 'api_key' THEN EXISTS (SELECT 1 FROM auth.api_keys WHERE id = p_actor_id AND org_id = p_org_id)
        WHEN 'management_token' THEN EXISTS (SELECT 1 FROM auth.admin_tokens WHERE id = p_actor_id AND org_id = p_org_id)
        WHEN 'admin_token' THEN EXISTS (SELECT 1 FROM auth.admin_tokens WHERE id = p_actor_id AND org_id = p_org_id)
        ELSE false
    END
$$;

-- ---------------------------------------------------------------- a shortened retention (review of issue 13)
-- Shortening an organisation's retention (an enterprise owner's PATCH, or a plan downgrade) does
-- not reach the rows stored under the longer window at once: the old number of days stays in
-- force until that many days have passed since the change (so every row stored before it is kept
-- as long as it was promised when it was stored). Each shortening is noted here; the PATCH itself
-- is audited (org.updated) by the management API.
CREATE TABLE audit.retention_changes (
    id          bigserial PRIMARY KEY,
    org_id      text NOT NULL,
    old_days    integer NOT NULL,
    new_days    integer NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON audit.retention_changes (org_id, changed_at);
ALTER TABLE audit.retention_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY writer ON audit.retention_changes TO bastion_audit USING (true);
GRANT SELECT ON audit.retention_changes TO bastion_audit;

CREATE FUNCTION audit.plan_days(p_plan text, p_days integer) RETURNS integer
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE p_plan WHEN 'free' THEN 30 WHEN 'pro' THEN 90 WHEN 'enterprise' THEN coalesce(p_days, 365) ELSE 30 END
$$;

CREATE FUNCTION audit.note_retention_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF audit.plan_days(NEW.plan, NEW.audit_retention_days) < audit.plan_days(OLD.plan, OLD.audit_retention_days) THEN
        INSERT INTO audit.retention_changes (org_id, old_days, new_days)
        VALUES (NEW.id, audit.plan_days(OLD.plan, OLD.audit_retention_days),
                audit.plan_days(NEW.plan, NEW.audit_retention_days));
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION audit.note_retention_change() FROM PUBLIC;
CREATE TRIGGER orgs_retention_shortened AFTER UPDATE OF plan, audit_retention_days ON auth.orgs
    FOR EACH ROW EXECUTE FUNCTION audit.note_retention_change();

-- The days in force: the current setting, or a longer one it replaced less than that longer
-- window ago.
CREATE OR REPLACE FUNCTION audit.retention_days(p_org_id text) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN p_org_id = '' THEN 90 ELSE greatest(
        coalesce((SELECT audit.plan_days(o.plan, o.audit_retention_days) FROM auth.orgs o WHERE o.id = p_org_id), 30),
        (SELECT max(c.old_days) FROM audit.retention_changes c
         WHERE c.org_id = p_org_id AND c.changed_at > now() - make_interval(days => c.old_days))) END
$$;
