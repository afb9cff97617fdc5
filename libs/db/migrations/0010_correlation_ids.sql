-- A client's own request id is only a correlation id: usage rows stay keyed by the request id the
-- gateway generates (distinct requests are never merged, whatever id a client sends), and the
-- client's id is stored beside them so it can still find its requests.
ALTER TABLE metering.usage_events ADD COLUMN correlation_id text NOT NULL DEFAULT '';
CREATE INDEX ON metering.usage_events (org_id, correlation_id) WHERE correlation_id <> '';
CREATE INDEX ON audit.events (org_id, (detail ->> 'correlation_id')) WHERE detail ? 'correlation_id';
