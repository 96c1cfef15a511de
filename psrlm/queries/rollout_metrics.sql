-- One row of search statistics for one rollout (columns = schemas.RolloutMetrics fields).
WITH
  rounds AS (SELECT * FROM read_parquet($rounds)),
  judged AS (SELECT * FROM rounds WHERE n_distinct > 1),
  j AS (SELECT * FROM read_parquet($judgments)),
  -- both orders of one unordered candidate pair, both parsed: a flip when the winner changes
  both_orders AS (
    SELECT a.winner <> b.winner AS flipped
    FROM j AS a JOIN j AS b
      ON a.problem_id = b.problem_id AND a.round = b.round
     AND a.first = b.second AND a.second = b.first AND a.first < a.second
    WHERE a.verdict IS NOT NULL AND b.verdict IS NOT NULL
  ),
  paths AS (SELECT * FROM read_parquet($paths))
SELECT
  (SELECT count(*) FROM paths) AS problems,
  (SELECT count(*) FROM rounds WHERE outcome = 'pair' AND NOT discarded) AS pairs,
  (SELECT count(*) FROM rounds) AS rounds,
  coalesce((SELECT avg(CASE WHEN outcome IN ('tie_rollback', 'tie_forced') THEN 1.0 ELSE 0.0 END) FROM judged), 0.0) AS tie_rate,
  (SELECT count(*) FROM rounds WHERE outcome = 'tie_rollback') AS rollbacks,
  (SELECT count(*) FROM j) AS judgments,
  (SELECT count(*) FROM j WHERE verdict IS NULL) AS parse_failures,
  coalesce((SELECT avg(CASE WHEN verdict IS NULL THEN 1.0 ELSE 0.0 END) FROM j), 0.0) AS parse_failure_rate,
  coalesce((SELECT avg(CASE WHEN flipped THEN 1.0 ELSE 0.0 END) FROM both_orders), 0.0) AS flip_rate,
  coalesce((SELECT avg(CASE WHEN outcome = 'single' THEN 1.0 ELSE 0.0 END) FROM rounds), 0.0) AS single_candidate_rate,
  coalesce((SELECT avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END) FROM paths), 0.0) AS path_accuracy,
  coalesce((SELECT avg(len(steps)) FROM paths), 0.0) AS mean_steps
