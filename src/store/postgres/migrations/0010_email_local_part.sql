-- Version 10 (SQLite migration 25): an email identifier says how its local part is compared
-- (`local_part`; unsaid, exactly). A store made before compared the whole address in lowercase:
-- its email identifiers say `any-case`.
UPDATE {schema}."map_table"
   SET "spec" = jsonb_set("spec"::jsonb, ARRAY['identifier'], (
         SELECT jsonb_agg(CASE WHEN x.e ->> 'kind' = 'email' AND (x.e -> 'local_part') IS NULL
                               THEN x.e || jsonb_build_object('local_part', 'any-case')
                               ELSE x.e END ORDER BY x.i)
           FROM jsonb_array_elements("spec"::jsonb -> 'identifier') WITH ORDINALITY AS x(e, i)))::text
 WHERE EXISTS (SELECT 1 FROM jsonb_array_elements("spec"::jsonb -> 'identifier') AS y(e)
                WHERE y.e ->> 'kind' = 'email');
