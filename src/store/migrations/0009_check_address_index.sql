-- Migration 9: `check --stdin` looks up each address for its person and newsletter opt-in; with
-- both in the address index, the lookup reads the index alone and not the table row too.
DROP INDEX IF EXISTS email_address_norm;
CREATE INDEX email_address_norm ON email_address(address_norm, person_id, newsletter_opt_in);
