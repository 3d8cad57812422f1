-- Migration 23: a legal basis says which basis of Art. 6(1) GDPR it is (`kind`,
-- docs/register-file.md) when its code is not that basis's name. NULL: the code names it.
ALTER TABLE legal_basis ADD COLUMN kind TEXT CHECK (kind IN ('consent', 'contract', 'legal-obligation', 'vital-interests', 'public-task', 'legitimate-interest'));
