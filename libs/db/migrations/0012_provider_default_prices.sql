-- A provider's default price (integer micro-dollars per million tokens), set by an admin: what a
-- model the shipped price table does not know costs through this provider (a catch-all `*`
-- provider, `provider/model`). NULL: no default — such a model is unpriced, which a key with a
-- USD limit may not use. All three are set together; bounded at $10,000 per million tokens.
ALTER TABLE vault.providers
    ADD COLUMN price_input_micros  bigint,
    ADD COLUMN price_output_micros bigint,
    ADD COLUMN price_cached_micros bigint,
    ADD CONSTRAINT providers_default_price_check CHECK (
        (price_input_micros IS NULL AND price_output_micros IS NULL AND price_cached_micros IS NULL)
        OR (price_input_micros BETWEEN 0 AND 10000000000
            AND price_output_micros BETWEEN 0 AND 10000000000
            AND price_cached_micros BETWEEN 0 AND 10000000000));
