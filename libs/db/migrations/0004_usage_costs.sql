-- Cost of every request in integer micro-dollars, and daily aggregates per key, project, model.
ALTER TABLE metering.usage_events ADD COLUMN cost_micros bigint NOT NULL DEFAULT 0;
ALTER TABLE metering.usage_events ADD COLUMN priced boolean NOT NULL DEFAULT false;

CREATE TABLE metering.daily (
    org_id             text NOT NULL,
    project_id         text NOT NULL,
    key_id             text NOT NULL,
    model              text NOT NULL,
    day                date NOT NULL,
    requests           bigint NOT NULL DEFAULT 0,
    prompt_tokens      bigint NOT NULL DEFAULT 0,
    completion_tokens  bigint NOT NULL DEFAULT 0,
    cached_tokens      bigint NOT NULL DEFAULT 0,
    cost_micros        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, project_id, key_id, model, day)
);
CREATE INDEX ON metering.daily (org_id, day);

ALTER TABLE metering.daily ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON metering.daily USING (org_id = bastion_tenant()) WITH CHECK (org_id = bastion_tenant());
GRANT SELECT, INSERT, UPDATE ON metering.daily TO bastion_metering;
GRANT SELECT ON metering.daily TO bastion_api;
