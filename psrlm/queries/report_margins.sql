-- Chosen-minus-rejected score margins of the preference pairs, counted per iteration.
SELECT regexp_extract(filename, '([^/]+)\.parquet$', 1) AS iteration,
       chosen_wins - rejected_wins AS margin,
       count(*) AS pairs
FROM read_parquet($pairs, filename = true)
GROUP BY ALL
ORDER BY iteration, margin
