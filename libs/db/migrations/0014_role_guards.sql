-- Roles can only be exercised downwards, and an organisation always keeps an owner.
--
-- The API refuses acting on a role above the caller's own; the database keeps the invariant that
-- needs a view of every row at once: the last owner membership of an organisation cannot be
-- deleted or demoted, and its last active owner token cannot be revoked, demoted or deleted.
-- Concurrent changes are serialised per organisation by a transaction-scoped advisory lock, so
-- two owners removing each other at the same moment leave one (each statement in the trigger
-- takes a fresh snapshot after the lock, under READ COMMITTED). A deleted organisation (cascade)
-- is not held back.

CREATE FUNCTION auth.role_rank(role text) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE role WHEN 'viewer' THEN 1 WHEN 'developer' THEN 2 WHEN 'admin' THEN 3 WHEN 'owner' THEN 4 ELSE 0 END
$$;
GRANT EXECUTE ON FUNCTION auth.role_rank(text) TO bastion_auth, bastion_api;

CREATE FUNCTION auth.keep_an_owner_member() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, auth AS $$
BEGIN
    IF OLD.role <> 'owner' OR (TG_OP = 'UPDATE' AND NEW.role = 'owner' AND NEW.org_id = OLD.org_id) THEN
        RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('bastion.owners:' || OLD.org_id, 0));
    IF EXISTS (SELECT 1 FROM auth.orgs WHERE id = OLD.org_id)
       AND NOT EXISTS (SELECT 1 FROM auth.memberships
                       WHERE org_id = OLD.org_id AND role = 'owner' AND user_id <> OLD.user_id) THEN
        RAISE EXCEPTION 'the last owner of an organisation cannot be removed or demoted'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'last_owner';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER keep_an_owner BEFORE UPDATE OR DELETE ON auth.memberships
    FOR EACH ROW EXECUTE FUNCTION auth.keep_an_owner_member();

CREATE FUNCTION auth.keep_an_owner_token() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, auth AS $$
BEGIN
    IF OLD.role <> 'owner' OR OLD.status <> 'active'
       OR (TG_OP = 'UPDATE' AND NEW.role = 'owner' AND NEW.status = 'active' AND NEW.org_id = OLD.org_id) THEN
        RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('bastion.owner_tokens:' || OLD.org_id, 0));
    IF EXISTS (SELECT 1 FROM auth.orgs WHERE id = OLD.org_id)
       AND NOT EXISTS (SELECT 1 FROM auth.admin_tokens
                       WHERE org_id = OLD.org_id AND role = 'owner' AND status = 'active' AND id <> OLD.id
                         AND (expires_at IS NULL OR expires_at > now())) THEN
        RAISE EXCEPTION 'the last owner token of an organisation cannot be revoked; create another owner token first'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'last_owner';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER keep_an_owner BEFORE UPDATE OR DELETE ON auth.admin_tokens
    FOR EACH ROW EXECUTE FUNCTION auth.keep_an_owner_token();
