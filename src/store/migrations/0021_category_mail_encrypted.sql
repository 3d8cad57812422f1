-- Migration 21: a register category says whether its data goes by mail only encrypted
-- (`mail_encrypted`, docs/register-file.md): payment data, job applications, special categories.
-- Until now that was the category code `payment` or `applications`; a store keeps that.
ALTER TABLE category ADD COLUMN mail_encrypted INTEGER NOT NULL DEFAULT 0 CHECK (mail_encrypted IN (0, 1));
UPDATE category SET mail_encrypted = 1 WHERE code IN ('payment', 'applications');
