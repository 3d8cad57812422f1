-- Migration 8: a purpose on legitimate interest says which interest, in words (Art. 13(1)(d)),
-- as the company file (docs/register-file.md) carries it. NULL for every other basis.
ALTER TABLE purpose ADD COLUMN legitimate_interest_en TEXT;
ALTER TABLE purpose ADD COLUMN legitimate_interest_nl TEXT;
