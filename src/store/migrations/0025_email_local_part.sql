-- Migration 25: an email identifier says how its local part is compared (`local_part`); unsaid,
-- exactly (issue 14). A store made before compared the whole address in lowercase and holds
-- its identifier columns so: its email identifiers say `any-case`, and nothing is found
-- differently after the upgrade.
UPDATE map_table
   SET spec = json_set(spec, '$.identifier', (
         SELECT json_group_array(
                  CASE WHEN json_extract(e.value, '$.kind') = 'email' AND json_type(e.value, '$.local_part') IS NULL
                       THEN json_set(json(e.value), '$.local_part', 'any-case')
                       ELSE json(e.value) END
                  ORDER BY e.key)
           FROM json_each(map_table.spec, '$.identifier') AS e))
 WHERE EXISTS (SELECT 1 FROM json_each(map_table.spec, '$.identifier') AS e
                WHERE json_extract(e.value, '$.kind') = 'email');
