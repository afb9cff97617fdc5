-- The limit check's fast path: the budget row is updated first; the spend of earlier days is
-- summed from metering.daily only when a key's budget row does not exist yet (0005 summed it on
-- every call, then threw the sum away on conflict). A second check for the same request (the
-- edge tops up the hold when a project alias routes to a priced model) adds to its reservation.
CREATE OR REPLACE FUNCTION metering.check_limits(
    p_org text, p_key text, p_request text, p_rpm integer, p_window timestamptz,
    p_limit_micros bigint, p_reserve_micros bigint, p_expires timestamptz
) RETURNS TABLE (outcome text, used integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer;
    held integer;
BEGIN
    PERFORM set_config('bastion.org_id', p_org, true);
    -- Counters commit without waiting for the WAL flush (see 0005): only a PostgreSQL crash can
    -- lose the last few hundred milliseconds of counts. Spend is recorded with the usage event.
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
        UPDATE metering.budgets SET reserved_micros = reserved_micros + p_reserve_micros, updated_at = now()
        WHERE key_id = p_key AND spent_micros + reserved_micros + p_reserve_micros <= p_limit_micros;
        GET DIAGNOSTICS held = ROW_COUNT;
        IF held = 0 AND NOT EXISTS (SELECT 1 FROM metering.budgets WHERE key_id = p_key) THEN
            INSERT INTO metering.budgets (key_id, org_id, spent_micros)
            SELECT p_key, p_org, coalesce(sum(d.cost_micros), 0) FROM metering.daily d WHERE d.key_id = p_key
            ON CONFLICT (key_id) DO NOTHING;
            UPDATE metering.budgets SET reserved_micros = reserved_micros + p_reserve_micros, updated_at = now()
            WHERE key_id = p_key AND spent_micros + reserved_micros + p_reserve_micros <= p_limit_micros;
            GET DIAGNOSTICS held = ROW_COUNT;
        END IF;
        IF held = 0 THEN
            -- undo the rpm count taken above: a refused request uses no slot
            IF p_rpm IS NOT NULL THEN
                UPDATE metering.rpm SET count = count - 1 WHERE key_id = p_key AND window_start = p_window;
            END IF;
            RETURN QUERY SELECT 'budget'::text, coalesce(n, 0);
            RETURN;
        END IF;
        INSERT INTO metering.reservations (request_id, key_id, org_id, amount, expires_at)
        VALUES (p_request, p_key, p_org, p_reserve_micros, p_expires)
        ON CONFLICT (request_id) DO UPDATE SET amount = metering.reservations.amount + excluded.amount;
    END IF;
    RETURN QUERY SELECT 'ok'::text, coalesce(n, 0);
END $$;
