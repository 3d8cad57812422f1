-- Migration 5: a restriction is lifted only after the Art. 18(3) notice had time to reach the person.
-- `dsr restrict --lift` sends the notice and sets lift_at; the restriction keeps applying
-- (lifted_at NULL) until `dsr retention run` or any `dsr restrict` command at or after lift_at
-- carries the lift out.
ALTER TABLE restriction ADD COLUMN lift_at TEXT;
CREATE INDEX restriction_lift_due ON restriction(lift_at) WHERE lifted_at IS NULL AND lift_at IS NOT NULL;
