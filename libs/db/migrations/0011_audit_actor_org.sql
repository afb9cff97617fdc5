-- The audit consumer checks that an event's actor belongs to the organisation the event claims
-- (issue 10, defect 8): a front process cannot file its own credential's actions under another
-- tenant. The audit role cannot read credentials; it may only ask this yes/no question.
CREATE FUNCTION audit.actor_belongs(p_actor_type text, p_actor_id text, p_org_id text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE p_actor_type
        WHEN 'api_key' THEN EXISTS (SELECT 1 FROM auth.api_keys WHERE id = p_actor_id AND org_id = p_org_id)
        WHEN 'admin_token' THEN EXISTS (SELECT 1 FROM auth.admin_tokens WHERE id = p_actor_id AND org_id = p_org_id)
        ELSE false
    END
$$;
REVOKE ALL ON FUNCTION audit.actor_belongs(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.actor_belongs(text, text, text) TO bastion_audit;
