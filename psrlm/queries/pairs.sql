-- Step-level preference pairs from one rollout: every round whose best candidate beat its worst,
-- unless a later rollback discarded the step chosen there. prompt = problem prompt + steps so far.
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
    r.n_distinct
FROM read_parquet($rounds) AS r
JOIN read_parquet($candidates) AS best
  ON best.problem_id = r.problem_id AND best.round = r.round AND best.candidate = r.best
JOIN read_parquet($candidates) AS worst
  ON worst.problem_id = r.problem_id AND worst.round = r.round AND worst.candidate = r.worst
WHERE r.outcome = 'pair' AND NOT r.discarded
ORDER BY r.problem_id, r.round
