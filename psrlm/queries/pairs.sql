-- Step-level preference pairs from one rollout: every round whose best candidate beat its worst,
-- unless a later rollback discarded the step chosen there. prompt = problem prompt + steps so far.
-- won_raw: the raw outputs of the judgments of best against worst (either order) that best won;
-- compared: how many judgments of best against worst there were (pairs.keep: proven reads both).
SELECT
    r.prompt,
    best.text AS chosen,
    worst.text AS rejected,
    best.final AS chosen_final,
    worst.final AS rejected_final,
    r.best_wins AS chosen_wins,
    r.worst_wins AS rejected_wins,
    r.problem_id,
    r.round,
    r.position,
    r.n_distinct,
    coalesce(list(j.raw ORDER BY j.first) FILTER (WHERE j.winner = r.best), []) AS won_raw,
    count(j.raw) AS compared
FROM read_parquet($rounds) AS r
JOIN read_parquet($candidates) AS best
  ON best.problem_id = r.problem_id AND best.round = r.round AND best.candidate = r.best
JOIN read_parquet($candidates) AS worst
  ON worst.problem_id = r.problem_id AND worst.round = r.round AND worst.candidate = r.worst
LEFT JOIN read_parquet($judgments) AS j
  ON j.problem_id = r.problem_id AND j.round = r.round
 AND ((j.first = r.best AND j.second = r.worst) OR (j.first = r.worst AND j.second = r.best))
WHERE r.outcome = 'pair' AND NOT r.discarded
GROUP BY ALL
ORDER BY r.problem_id, r.round
