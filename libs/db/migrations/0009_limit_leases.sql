-- Quota leases: an edge process takes a small block of a key's limits (requests of the current
-- minute and micro-dollars of its budget) in one atomic step and admits requests from it in
-- memory, so most requests of a busy key need no bus hop for their limit check. Grants come out
-- of the same counters as single checks, so their sum never exceeds a limit.
--
-- A lease's micro-dollars are held as a reservation row whose request_id is the lease id. Each
-- request admitted under it reports its hold with its usage event; settlement takes that hold
-- off the row (and spends the real cost); the edge gives back what it did not use. The row goes
-- when nothing is left on it; one an edge never gave back expires like any reservation.
-- Unused requests are given back to the minute they were counted in.
--
-- Grant sizes are capped at a quarter of what is left, so blocks shrink to one request near a
-- limit and few admissions are stranded in an idle process. Outcome: 'ok', 'rate_limited' or
-- 'budget' (nothing granted or counted on a refusal; a returned lease is always taken back).
CREATE FUNCTION metering.grant_lease(
    p_org text, p_key text, p_lease text, p_window timestamptz,
    p_rpm integer, p_want_units integer,
    p_limit_micros bigint, p_want_micros bigint, p_need_micros bigint, p_expires timestamptz,
    p_return_lease text, p_return_window timestamptz, p_return_units integer, p_return_micros bigint
) RETURNS TABLE (outcome text, units integer, used integer, micros bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c integer;
    g integer := 0;
    spent bigint;
    held bigint;
    avail bigint;
    gm bigint := 0;
    left_over bigint;
BEGIN
    PERFORM set_config('bastion.org_id', p_org, true);
    PERFORM set_config('synchronous_commit', 'off', true);  -- as metering.check_limits (0005)
    -- 1. take back what a previous lease did not use
    IF p_return_units > 0 AND p_return_window IS NOT NULL THEN
        UPDATE metering.rpm SET count = greatest(0, count - p_return_units)
        WHERE key_id = p_key AND window_start = p_return_window;
    END IF;
    IF p_return_micros > 0 AND p_return_lease IS NOT NULL THEN
        UPDATE metering.reservations SET amount = amount - p_return_micros
        WHERE request_id = p_return_lease RETURNING amount INTO left_over;
        IF FOUND THEN
            UPDATE metering.budgets SET reserved_micros = greatest(0, reserved_micros - p_return_micros),
                   updated_at = now() WHERE key_id = p_key;
            IF left_over <= 0 THEN
                DELETE FROM metering.reservations WHERE request_id = p_return_lease;
            END IF;
        END IF;
    END IF;
    IF p_want_units <= 0 AND p_want_micros <= 0 AND p_need_micros <= 0 THEN
        RETURN QUERY SELECT 'ok'::text, 0, 0, 0::bigint;  -- a give-back only
        RETURN;
    END IF;
    -- 2. requests of this minute
    IF p_rpm IS NOT NULL THEN
        INSERT INTO metering.rpm (key_id, window_start, org_id, count) VALUES (p_key, p_window, p_org, 0)
        ON CONFLICT (key_id, window_start) DO NOTHING;
        SELECT count INTO c FROM metering.rpm WHERE key_id = p_key AND window_start = p_window FOR UPDATE;
        IF c >= p_rpm THEN
            RETURN QUERY SELECT 'rate_limited'::text, 0, c, 0::bigint;
            RETURN;
        END IF;
        g := least(greatest(p_want_units, 1), greatest(1, (p_rpm - c) / 4));
        UPDATE metering.rpm SET count = c + g WHERE key_id = p_key AND window_start = p_window;
    END IF;
    -- 3. micro-dollars of the budget: at least what the waiting request needs
    IF p_limit_micros IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM metering.budgets WHERE key_id = p_key) THEN
            INSERT INTO metering.budgets (key_id, org_id, spent_micros)
            SELECT p_key, p_org, coalesce(sum(d.cost_micros), 0) FROM metering.daily d WHERE d.key_id = p_key
            ON CONFLICT (key_id) DO NOTHING;
        END IF;
        SELECT spent_micros, reserved_micros INTO spent, held FROM metering.budgets WHERE key_id = p_key FOR UPDATE;
        avail := p_limit_micros - spent - held;
        IF avail < p_need_micros THEN
            IF g > 0 THEN
                UPDATE metering.rpm SET count = count - g WHERE key_id = p_key AND window_start = p_window;
            END IF;
            RETURN QUERY SELECT 'budget'::text, 0, coalesce(c, 0), 0::bigint;
            RETURN;
        END IF;
        gm := least(avail, greatest(p_need_micros, least(p_want_micros, avail / 4)));
        IF gm > 0 THEN
            UPDATE metering.budgets SET reserved_micros = reserved_micros + gm, updated_at = now() WHERE key_id = p_key;
            INSERT INTO metering.reservations (request_id, key_id, org_id, amount, expires_at)
            VALUES (p_lease, p_key, p_org, gm, p_expires)
            ON CONFLICT (request_id) DO UPDATE SET amount = metering.reservations.amount + excluded.amount;
        END IF;
    END IF;
    RETURN QUERY SELECT 'ok'::text, g, coalesce(c, 0) + g, gm;
END $$;
REVOKE ALL ON FUNCTION metering.grant_lease(text, text, text, timestamptz, integer, integer, bigint, bigint, bigint,
    timestamptz, text, timestamptz, integer, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metering.grant_lease(text, text, text, timestamptz, integer, integer, bigint, bigint, bigint,
    timestamptz, text, timestamptz, integer, bigint) TO bastion_metering;

-- Settlement of a request admitted under a lease: its hold comes off the lease row.
CREATE FUNCTION metering.settle_leased(p_key text, p_lease text, p_held bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE left_over bigint;
BEGIN
    UPDATE metering.reservations SET amount = amount - p_held WHERE request_id = p_lease RETURNING amount INTO left_over;
    IF FOUND THEN
        UPDATE metering.budgets SET reserved_micros = greatest(0, reserved_micros - p_held), updated_at = now()
        WHERE key_id = p_key;
        IF left_over <= 0 THEN
            DELETE FROM metering.reservations WHERE request_id = p_lease;
        END IF;
    END IF;
END $$;
REVOKE ALL ON FUNCTION metering.settle_leased(text, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metering.settle_leased(text, text, bigint) TO bastion_metering;
