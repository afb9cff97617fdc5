-- Per-key limits that cannot be overrun: a requests-per-minute counter per key and fixed minute,
-- and a USD budget with reservations (worst-case cost held before the upstream call, settled to
-- the real cost when the usage event arrives). Single-row atomic updates make both exact across
-- any number of edge processes and metering replicas.
CREATE TABLE metering.rpm (
    key_id        text NOT NULL,
    window_start  timestamptz NOT NULL,
    org_id        text NOT NULL,
    count         integer NOT NULL,
    PRIMARY KEY (key_id, window_start)
);

CREATE TABLE metering.budgets (
    key_id          text PRIMARY KEY,
    org_id          text NOT NULL,
    spent_micros    bigint NOT NULL DEFAULT 0,
    reserved_micros bigint NOT NULL DEFAULT 0 CHECK (reserved_micros >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE metering.reservations (
    request_id  text PRIMARY KEY,
    key_id      text NOT NULL,
    org_id      text NOT NULL,
    amount      bigint NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX ON metering.reservations (expires_at);

ALTER TABLE metering.rpm ENABLE ROW LEVEL SECURITY;
ALTER TABLE metering.budgets ENABLE ROW LEVEL SECURITY;
ALTER TABLE metering.reservations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON metering.rpm USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON metering.budgets USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
CREATE POLICY tenant ON metering.reservations USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());

-- Expired reservations (a request that died before its usage event) are released by this
-- function, which sees every tenant; metering calls it periodically.
CREATE FUNCTION metering.release_expired() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n integer;
BEGIN
    WITH gone AS (
        DELETE FROM metering.reservations WHERE expires_at < now() RETURNING key_id, amount
    ), sums AS (
        SELECT key_id, sum(amount) AS amount FROM gone GROUP BY key_id
    )
    UPDATE metering.budgets b SET reserved_micros = greatest(0, b.reserved_micros - s.amount), updated_at = now()
    FROM sums s WHERE b.key_id = s.key_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM metering.rpm WHERE window_start < now() - interval '5 minutes';
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION metering.release_expired() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metering.release_expired() TO bastion_metering;

-- The whole limit check in one statement (one round trip; row locks held for microseconds).
-- Runs with the caller's rights, so row-level security applies; the tenant is set inside.
-- Returns outcome 'ok', 'rate_limited' or 'budget'; on a refusal nothing is counted or held.
CREATE FUNCTION metering.check_limits(
    p_org text, p_key text, p_request text, p_rpm integer, p_window timestamptz,
    p_limit_micros bigint, p_reserve_micros bigint, p_expires timestamptz
) RETURNS TABLE (outcome text, used integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE n integer;
BEGIN
    PERFORM set_config('bastion.org_id', p_org, true);
    -- The counters are hot and short-lived: commit without waiting for the WAL flush (~0.4 ms
    -- here). Only a PostgreSQL crash can lose the last few hundred milliseconds of counts; a
    -- metering or edge crash loses nothing. Spend itself is recorded with the usage event,
    -- synchronously.
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_rpm IS NOT NULL THEN
        INSERT INTO metering.rpm AS r (key_id, window_start, org_id, count) VALUES (p_key, p_window, p_org, 1)
        ON CONFLICT (key_id, window_start) DO UPDATE SET count = r.count + 1 WHERE r.count < p_rpm
        RETURNING r.count INTO n;
        IF n IS NULL THEN
            RETURN QUERY SELECT 'rate_limited'::text, p_rpm;
            RETURN;
        END IF;
    END IF;
    IF p_limit_micros IS NOT NULL THEN
        INSERT INTO metering.budgets (key_id, org_id, spent_micros)
        SELECT p_key, p_org, coalesce(sum(d.cost_micros), 0) FROM metering.daily d WHERE d.key_id = p_key
        ON CONFLICT (key_id) DO NOTHING;
        UPDATE metering.budgets SET reserved_micros = reserved_micros + p_reserve_micros, updated_at = now()
        WHERE key_id = p_key AND spent_micros + reserved_micros + p_reserve_micros <= p_limit_micros;
        IF NOT FOUND THEN
            -- undo the rpm count taken above: a refused request uses no slot
            IF p_rpm IS NOT NULL THEN
                UPDATE metering.rpm SET count = count - 1 WHERE key_id = p_key AND window_start = p_window;
            END IF;
            RETURN QUERY SELECT 'budget'::text, coalesce(n, 0);
            RETURN;
        END IF;
        INSERT INTO metering.reservations (request_id, key_id, org_id, amount, expires_at)
        VALUES (p_request, p_key, p_org, p_reserve_micros, p_expires) ON CONFLICT (request_id) DO NOTHING;
    END IF;
    RETURN QUERY SELECT 'ok'::text, coalesce(n, 0);
END $$;
REVOKE ALL ON FUNCTION metering.check_limits(text, text, text, integer, timestamptz, bigint, bigint, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metering.check_limits(text, text, text, integer, timestamptz, bigint, bigint, timestamptz)
    TO bastion_metering;

GRANT SELECT, INSERT, UPDATE ON metering.rpm, metering.budgets TO bastion_metering;
GRANT EXECUTE ON FUNCTION public.bastion_tenant() TO bastion_metering;
GRANT SELECT, INSERT, UPDATE, DELETE ON metering.reservations TO bastion_metering;
GRANT SELECT ON metering.budgets TO bastion_api;
