-- Master-key rotation walks every tenant's data key; the vault role may list which tenants have
-- one (ids only) through this function, then rewraps each inside that tenant's transaction.
CREATE FUNCTION vault.tenants_with_data_keys() RETURNS TABLE (org_id text, kid text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT org_id, kid FROM vault.data_keys ORDER BY org_id
$$;
REVOKE ALL ON FUNCTION vault.tenants_with_data_keys() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vault.tenants_with_data_keys() TO bastion_vault;
GRANT EXECUTE ON FUNCTION public.bastion_tenant() TO bastion_vault;
