-- Migration 7: the access answer lists every restriction and human review of a person, lifted and
-- decided ones too (GDPR Art. 15(3)); the existing indexes cover only the active ones, so these
-- lookups by person would scan the whole table.
CREATE INDEX IF NOT EXISTS restriction_person_all ON restriction(person_id);
CREATE INDEX IF NOT EXISTS decision_review_person_all ON decision_review(person_id);
