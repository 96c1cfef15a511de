-- One row of search statistics for one rollout (columns = schemas.RolloutMetrics fields).
-- The oracle columns (toy world: candidates.oracle = 'correct' or the kind of error) are NULL where
-- no candidate has an oracle view (real problems).
WITH
  rounds AS (SELECT * FROM read_parquet($rounds)),
  judged AS (SELECT * FROM rounds WHERE n_distinct > 1),
  j AS (SELECT * FROM read_parquet($judgments)),
  c AS (SELECT * FROM read_parquet($candidates)),
  -- both orders of one unordered candidate pair, both parsed: a flip when the winner changes
  both_orders AS (
    SELECT a.problem_id, a.round, a.first, a.second, a.winner <> b.winner AS flipped
    FROM j AS a JOIN j AS b
      ON a.problem_id = b.problem_id AND a.round = b.round
     AND a.first = b.second AND a.second = b.first AND a.first < a.second
    WHERE a.verdict IS NOT NULL AND b.verdict IS NOT NULL
  ),
  paths AS (SELECT * FROM read_parquet($paths)),
  has_oracle AS (SELECT count(*) > 0 AS yes FROM c WHERE oracle IS NOT NULL),
  -- judge calls "in the wild": the search's own comparisons where exactly one step is right
  wild AS (
    SELECT j.problem_id, j.round, j.first, j.second,
           j.winner = (CASE WHEN fa.oracle = 'correct' THEN j.first ELSE j.second END) AS right_call
    FROM j
    JOIN c AS fa ON fa.problem_id = j.problem_id AND fa.round = j.round AND fa.candidate = j.first
    JOIN c AS fb ON fb.problem_id = j.problem_id AND fb.round = j.round AND fb.candidate = j.second
    WHERE (fa.oracle = 'correct') <> (fb.oracle = 'correct')
  ),
  -- the flips of the pairs in the wild: a flip between two wrong (or two right) steps is a tie either
  -- way, one between a right and a wrong step is the order deciding what the search keeps
  wild_orders AS (
    SELECT o.flipped FROM both_orders AS o
    JOIN wild AS w ON w.problem_id = o.problem_id AND w.round = o.round AND w.first = o.first AND w.second = o.second
  ),
  -- rounds with >= 2 distinct candidates of which at least one is right and one wrong
  mixed AS (
    SELECT r.problem_id, r.round FROM judged AS r
    JOIN c ON c.problem_id = r.problem_id AND c.round = r.round AND c.duplicate_of IS NULL
    GROUP BY r.problem_id, r.round
    HAVING bool_or(c.oracle = 'correct') AND bool_or(c.oracle <> 'correct')
  ),
  kept AS (
    SELECT best.oracle = 'correct' AND worst.oracle <> 'correct' AS right_pair
    FROM rounds AS r
    JOIN c AS best ON best.problem_id = r.problem_id AND best.round = r.round AND best.candidate = r.best
    JOIN c AS worst ON worst.problem_id = r.problem_id AND worst.round = r.round AND worst.candidate = r.worst
    WHERE r.outcome = 'pair' AND NOT r.discarded
  )
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
  coalesce((SELECT avg(len(steps)) FROM paths), 0.0) AS mean_steps,
  (SELECT count(*) FROM paths WHERE stop_reason = 'too_long') AS too_long,
  (SELECT count(*) FROM judged) AS multi_candidate_rounds,
  CASE WHEN (SELECT yes FROM has_oracle) THEN (SELECT count(*) FROM mixed) END AS mixed_rounds,
  CASE WHEN (SELECT yes FROM has_oracle) THEN (SELECT count(*) FROM wild) END AS wild_judgments,
  CASE WHEN (SELECT yes FROM has_oracle) THEN
    (SELECT avg(CASE WHEN right_call THEN 1.0 ELSE 0.0 END) FROM wild) END AS judge_accuracy_wild,
  CASE WHEN (SELECT yes FROM has_oracle) THEN
    (SELECT avg(CASE WHEN flipped THEN 1.0 ELSE 0.0 END) FROM wild_orders) END AS flip_rate_wild,
  CASE WHEN (SELECT yes FROM has_oracle) THEN (SELECT count(*) FROM kept WHERE right_pair) END AS correct_pairs,
  CASE WHEN (SELECT yes FROM has_oracle) THEN
    (SELECT avg(CASE WHEN right_pair THEN 1.0 ELSE 0.0 END) FROM kept) END AS pair_correct_rate
