-- Per model and task (paper Table 4, per benchmark): accuracy, steps per solution and mean step length
-- of the model's greedy solutions to the task's held-out problems (split as in report_models.sql).
WITH
  answers AS (SELECT regexp_extract(filename, '([^/]+)/answers\.jsonl$', 1) AS model, task, correct, response
              FROM read_json($answers, filename = true, format = 'newline_delimited')),
  steps AS (
    SELECT model, task, s AS step
    FROM (SELECT model, task, unnest(regexp_split_to_array(response, '\n?Step \d+:\s?')) AS s FROM answers)
    WHERE length(trim(s)) > 0
  ),
  per_task AS (
    SELECT model, task, count(*) AS solutions, avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END) AS accuracy
    FROM answers GROUP BY model, task
  ),
  step_stats AS (
    SELECT model, task, count(*) AS steps, avg(length(trim(step))) AS mean_step_chars FROM steps GROUP BY model, task
  )
SELECT p.model, p.task, p.solutions, p.accuracy, coalesce(s.steps, 0) / p.solutions AS steps_per_solution,
       s.mean_step_chars
FROM per_task AS p
LEFT JOIN step_stats AS s USING (model, task)
ORDER BY p.model, p.task
