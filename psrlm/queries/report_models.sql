-- Per model: accuracy and judge accuracy (its evaluation metrics), steps per solution and mean step
-- length of its greedy solutions to the held-out problems (the paper's Table 4).
WITH
  metrics AS (SELECT regexp_extract(filename, '([^/]+)\.json$', 1) AS model, *
              FROM read_json($metrics, filename = true)),
  answers AS (SELECT regexp_extract(filename, '([^/]+)/answers\.jsonl$', 1) AS model, response
              FROM read_json($answers, filename = true, format = 'newline_delimited')),
  steps AS (
    SELECT model, s AS step
    FROM (SELECT model, unnest(regexp_split_to_array(response, '\n?Step \d+:\s?')) AS s FROM answers)
    WHERE length(trim(s)) > 0
  ),
  per_model AS (
    SELECT a.model, count(*) AS solutions FROM answers AS a GROUP BY a.model
  ),
  step_stats AS (
    SELECT model, count(*) AS steps, avg(length(trim(step))) AS mean_step_chars FROM steps GROUP BY model
  )
SELECT m.model, m.accuracy, m.judge_accuracy, m.judge_parse_failure_rate, m.judge_flip_rate,
       s.steps / p.solutions AS steps_per_solution, s.mean_step_chars
FROM metrics AS m
JOIN per_model AS p USING (model)
JOIN step_stats AS s USING (model)
ORDER BY m.model
