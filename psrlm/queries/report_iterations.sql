-- Per iteration: what its rollout produced and how the self-judge behaved (rollout named by its folder).
WITH
  rounds AS (SELECT regexp_extract(filename, '([^/]+)/rounds\.parquet$', 1) AS iteration, *
             FROM read_parquet($rounds, filename = true)),
  j AS (SELECT regexp_extract(filename, '([^/]+)/judgments\.parquet$', 1) AS iteration, *
        FROM read_parquet($judgments, filename = true)),
  paths AS (SELECT regexp_extract(filename, '([^/]+)/paths\.parquet$', 1) AS iteration, *
            FROM read_parquet($paths, filename = true)),
  c AS (SELECT regexp_extract(filename, '([^/]+)/candidates\.parquet$', 1) AS iteration, *
        FROM read_parquet($candidates, filename = true, union_by_name = true)),
  -- the oracle's view (toy world): the judge on the search's own right-vs-wrong comparisons, and
  -- the kept pairs whose chosen step is right and rejected wrong
  wild AS (
    SELECT j.iteration,
           avg(CASE WHEN j.winner = (CASE WHEN fa.oracle = 'correct' THEN j.first ELSE j.second END)
                    THEN 1.0 ELSE 0.0 END) AS judge_accuracy_wild
    FROM j
    JOIN c AS fa ON fa.iteration = j.iteration AND fa.problem_id = j.problem_id AND fa.round = j.round
                AND fa.candidate = j.first
    JOIN c AS fb ON fb.iteration = j.iteration AND fb.problem_id = j.problem_id AND fb.round = j.round
                AND fb.candidate = j.second
    WHERE (fa.oracle = 'correct') <> (fb.oracle = 'correct')
    GROUP BY j.iteration
  ),
  kept AS (
    SELECT r.iteration,
           avg(CASE WHEN best.oracle = 'correct' AND worst.oracle <> 'correct' THEN 1.0 ELSE 0.0 END)
             AS pair_correct_rate
    FROM rounds AS r
    JOIN c AS best ON best.iteration = r.iteration AND best.problem_id = r.problem_id AND best.round = r.round
                  AND best.candidate = r.best
    JOIN c AS worst ON worst.iteration = r.iteration AND worst.problem_id = r.problem_id
                   AND worst.round = r.round AND worst.candidate = r.worst
    WHERE r.outcome = 'pair' AND NOT r.discarded AND best.oracle IS NOT NULL
    GROUP BY r.iteration
  ),
  flips AS (
    SELECT a.iteration, avg(CASE WHEN a.winner <> b.winner THEN 1.0 ELSE 0.0 END) AS flip_rate
    FROM j AS a JOIN j AS b
      ON a.iteration = b.iteration AND a.problem_id = b.problem_id AND a.round = b.round
     AND a.first = b.second AND a.second = b.first AND a.first < a.second
    WHERE a.verdict IS NOT NULL AND b.verdict IS NOT NULL
    GROUP BY a.iteration
  ),
  per_round AS (
    SELECT iteration,
           count(*) AS rounds,
           count(*) FILTER (WHERE outcome = 'pair' AND NOT discarded) AS pairs,
           coalesce(avg(CASE WHEN outcome IN ('tie_rollback', 'tie_forced') THEN 1.0 ELSE 0.0 END)
                    FILTER (WHERE n_distinct > 1), 0.0) AS tie_rate,
           count(*) FILTER (WHERE outcome = 'tie_rollback') AS rollbacks,
           avg(best_wins - worst_wins) FILTER (WHERE outcome = 'pair' AND NOT discarded) AS mean_margin,
           avg(n_distinct) AS mean_distinct_candidates
    FROM rounds GROUP BY iteration
  ),
  per_judgment AS (
    SELECT iteration, count(*) AS judgments,
           count(*) FILTER (WHERE verdict IS NULL) AS parse_failures,
           avg(CASE WHEN verdict = 'A' THEN 1.0 ELSE 0.0 END) FILTER (WHERE verdict IS NOT NULL) AS first_position_wins
    FROM j GROUP BY iteration
  ),
  per_path AS (
    SELECT iteration, count(*) AS problems, avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END) AS path_accuracy,
           avg(len(steps)) AS steps_per_solution,
           count(*) FILTER (WHERE stop_reason = 'too_long') AS too_long
    FROM paths GROUP BY iteration
  )
-- LEFT JOINs: a rollout whose every path ended before its first round was decided (too_long) has no rounds
SELECT p.iteration, p.problems, coalesce(r.rounds, 0) AS rounds, coalesce(r.pairs, 0) AS pairs,
       coalesce(r.tie_rate, 0.0) AS tie_rate, coalesce(f.flip_rate, 0.0) AS flip_rate,
       r.mean_margin, r.mean_distinct_candidates, coalesce(r.rollbacks, 0) AS rollbacks, jd.judgments, jd.parse_failures,
       jd.first_position_wins, p.path_accuracy, p.steps_per_solution, p.too_long, w.judge_accuracy_wild,
       k.pair_correct_rate
FROM per_path AS p
LEFT JOIN per_round AS r USING (iteration)
LEFT JOIN per_judgment AS jd USING (iteration)
LEFT JOIN flips AS f USING (iteration)
LEFT JOIN wild AS w USING (iteration)
LEFT JOIN kept AS k USING (iteration)
ORDER BY iteration
