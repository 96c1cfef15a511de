-- Per iteration and kind: the distinct wrong steps the search sampled, by what the oracle says is wrong
-- with them (toy world; psrlm.toy.step_error). The distribution EFT's corruptions are weighted to match.
WITH c AS (
  SELECT regexp_extract(filename, '([^/]+)/candidates\.parquet$', 1) AS iteration, *
  FROM read_parquet($candidates, filename = true, union_by_name = true)
)
SELECT iteration, oracle AS kind, count(*) AS steps,
       count(*) / sum(count(*)) OVER (PARTITION BY iteration) AS share
FROM c
WHERE duplicate_of IS NULL AND oracle IS NOT NULL AND oracle <> 'correct'
GROUP BY iteration, oracle
ORDER BY iteration, steps DESC
