"""Bad input gets a clear error naming file, line (or row) and field, and loses nothing.

Params of the wrong type or range are covered in ``test_params``; here: problem files, artifact
tables, model directories, judge outputs, and a stage fed a broken file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from psrlm.analytics import query
from psrlm.modeling import check_model_dir, save_model
from psrlm.prompts import parse_verdict
from schemas import Candidate, Judgment, PreferencePair, Problem, Round, SearchPath
from schemas.table import ArtifactError, read_jsonl, read_parquet, write_parquet

GOOD = {"id": "t-1", "source": "toy", "problem": "Mia has 2 apples. How many?", "answer": "2"}
ROOT = Path(__file__).resolve().parents[1]


def problems_file(tmp_path: Path, *lines: str | bytes) -> Path:
    path = tmp_path / "problems.jsonl"
    path.write_bytes(b"\n".join(line if isinstance(line, bytes) else line.encode() for line in lines) + b"\n")
    return path


def row(**changes) -> str:
    return json.dumps({**GOOD, **changes})


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([row(), '{"id": "t-2", "problem": ', row(id="t-3")], r"problems.jsonl:2: malformed JSON"),
        ([row(), b'{"id": "t-2", "problem": "caf\xe9", "answer": "1", "source": "toy"}'], r"problems.jsonl:2: not valid UTF-8"),
        ([row(), "[1, 2, 3]"], r"problems.jsonl:2: expected a JSON object, got list"),
        ([json.dumps({"id": "t-1", "source": "toy", "problem": "q"})], r"problems.jsonl:1: field 'answer': Field required"),
        ([row(), row(id="t-2", problem="")], r"problems.jsonl:2: field 'problem': String should have at least 1 character"),
        ([row(answer="   ")], r"problems.jsonl:1: field 'answer': Value error, must not be blank"),
        ([row(problem="x" * 25_000)], r"problems.jsonl:1: field 'problem': String should have at most 20000 characters"),
        ([row(answer="\\frac{1}{2")], r"problems.jsonl:1: field 'answer': .*no grader can parse.*never closed"),
        ([row(answer="\\boxed{ }")], r"problems.jsonl:1: field 'answer': .*empty answer"),
        ([row(answer="$\\frac12")], r"problems.jsonl:1: field 'answer': .*unbalanced '\$'"),
        ([row(), row(id="t-2", problem="Q2"), row(id="t-1", problem="Q3")], r"problems.jsonl:3: duplicate id 't-1' \(first at line 1\)"),
        ([row(id="")], r"problems.jsonl:1: field 'id': String should have at least 1 character"),
        ([row(steps="3 + 4 = 7.")], r"problems.jsonl:1: field 'steps': Input should be a valid list"),
        ([row(level=5)], r"problems.jsonl:1: field 'level': Extra inputs are not permitted"),
        ([row(answer=12)], r"problems.jsonl:1: field 'answer': Input should be a valid string"),
        (["", "   ", ""], r"problems.jsonl: no records \(empty file\)"),
    ],
    ids=["malformed-json", "non-utf8", "not-an-object", "missing-field", "empty-field", "blank-answer",
         "absurdly-long-problem", "unparseable-answer", "empty-box", "unbalanced-dollar", "duplicate-id",
         "empty-id", "wrong-type-list", "unknown-field", "wrong-type-str", "empty-file"],
)
def test_bad_problem_file_names_file_line_and_reason(tmp_path, lines, message):
    path = problems_file(tmp_path, *lines)
    with pytest.raises(ArtifactError, match=message):
        read_jsonl(path, Problem)


def test_a_leading_byte_order_mark_loads(tmp_path):
    path = tmp_path / "problems.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + row().encode() + b"\n" + row(id="t-2", problem="Ben has 3 pens. How many?").encode() + b"\n")
    assert [p.id for p in read_jsonl(path, Problem)] == ["t-1", "t-2"]


def test_a_repeated_problem_names_both_lines_or_is_a_counted_drop(tmp_path, caplog):
    path = problems_file(tmp_path, row(), row(id="t-2", problem="Ben has 3 pens. How many?"),
                         row(id="t-3", problem="Mia has 2  apples.\nHow many?"))
    with pytest.raises(ArtifactError, match=r"problems.jsonl:3: same problem as line 1 \(a repeated problem"):
        read_jsonl(path, Problem)
    kept = read_jsonl(path, Problem, duplicates="drop")
    assert [p.id for p in kept] == ["t-1", "t-2"]
    assert "1 repeated problem dropped (first: " in caplog.text and "problems.jsonl:3" in caplog.text


def test_a_repeated_problem_in_a_real_source_names_both_lines(tmp_path):
    from psrlm.real.loaders import load_problems

    (tmp_path / "gsm8k").mkdir()
    rows = [{"question": "Q one?", "answer": "x\n#### 1"}, {"question": "Q two?", "answer": "y\n#### 2"},
            {"question": "Q  one?", "answer": "z\n#### 3"}]
    (tmp_path / "gsm8k" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ArtifactError, match=r"test.jsonl:3: same problem as .*test.jsonl:1"):
        load_problems("gsm8k", tmp_path, "test")
    assert len(load_problems("gsm8k", tmp_path, "test", duplicates="drop")) == 2


def test_missing_problem_file(tmp_path):
    with pytest.raises(ArtifactError, match=r"nowhere.jsonl: file not found"):
        read_jsonl(tmp_path / "nowhere.jsonl", Problem)


def test_parquet_with_missing_column_names_it(tmp_path):
    pl.DataFrame({"problem_id": ["t-1"], "steps": [["Step 1: x"]]}).write_parquet(tmp_path / "paths.parquet")
    with pytest.raises(ArtifactError, match=r"paths.parquet: columns do not match SearchPath: missing \['answer'"):
        read_parquet(tmp_path / "paths.parquet", SearchPath)


def test_parquet_bad_value_names_row_and_field(tmp_path):
    good = Judgment(problem_id="t-1", round=0, first=0, second=1, raw="[[A]]", verdict="A", p_a=None, winner=0)
    write_parquet(tmp_path / "j.parquet", Judgment, [good])
    frame = pl.read_parquet(tmp_path / "j.parquet")
    pl.concat([frame, frame.with_columns(pl.lit("C").alias("verdict"))]).write_parquet(tmp_path / "j.parquet")
    with pytest.raises(ArtifactError, match=r"j.parquet: row 1: field 'verdict': Input should be 'A' or 'B'"):
        read_parquet(tmp_path / "j.parquet", Judgment)


def test_pair_that_is_a_tie_is_refused_by_the_writer(tmp_path):
    tie = dict(prompt="p", chosen="Step 1: a", rejected="Step 1: b", chosen_final=False, rejected_final=False,
               chosen_wins=2.0, rejected_wins=2.0, problem_id="t-1", round=0, position=1, n_distinct=2, model="m1")
    with pytest.raises(ValueError, match="ties make no pair"):
        write_parquet(tmp_path / "pairs.parquet", PreferencePair, [tie])
    assert not (tmp_path / "pairs.parquet").exists()  # nothing half-written


# --- model directories ------------------------------------------------------------------------------


@pytest.fixture
def model_dir(tmp_path, tiny_lm) -> Path:
    model, tokenizer = tiny_lm
    return save_model(model, tokenizer, tmp_path / "m1")


def test_missing_model_dir(tmp_path):
    with pytest.raises(ArtifactError, match=r"m9: model directory not found"):
        check_model_dir(tmp_path / "m9")


def test_model_dir_missing_config(model_dir):
    (model_dir / "config.json").unlink()
    with pytest.raises(ArtifactError, match=r"m1: incomplete model directory \(missing \['config.json'\]\)"):
        check_model_dir(model_dir)


def test_model_dir_missing_weights(model_dir):
    (model_dir / "model.safetensors").unlink()
    with pytest.raises(ArtifactError, match=r"m1: incomplete model directory \(missing \['weights"):
        check_model_dir(model_dir)


def test_truncated_checkpoint(model_dir):
    weights = model_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ArtifactError, match=r"model.safetensors: corrupt checkpoint"):
        check_model_dir(model_dir)


def test_garbled_config(model_dir):
    (model_dir / "config.json").write_text('{"model_type": "llama", ')
    with pytest.raises(ArtifactError, match=r"config.json: corrupt \(not valid JSON"):
        check_model_dir(model_dir)


def test_hub_id_is_left_to_the_hub():
    assert check_model_dir("Qwen/Qwen2.5-Math-7B") == "Qwen/Qwen2.5-Math-7B"


# --- judge outputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["Assistant A is right.", "[[C]]", "[A]", "", "[[ A ]]"])
def test_judge_output_without_verdict_is_a_parse_failure(raw):
    assert parse_verdict(raw) is None


def test_unparseable_judgments_are_stored_and_counted_never_scored(tmp_path):
    judged = [Judgment(problem_id="t-1", round=0, first=0, second=1, raw="A is better", verdict=None, p_a=None, winner=None),
              Judgment(problem_id="t-1", round=0, first=1, second=0, raw="[[A]]", verdict="A", p_a=None, winner=1)]
    rounds = [Round(problem_id="t-1", round=0, position=1, prompt="p", n_candidates=2, n_distinct=2, best=1, worst=0,
                    best_wins=1.0, worst_wins=0.0, outcome="pair", discarded=False)]
    paths = [SearchPath(problem_id="t-1", steps=["Step 1: x"], answer=None, gold="2", correct=False, n_rounds=1,
                        n_rollbacks=0, stop_reason="max_steps")]
    candidates = [Candidate(problem_id="t-1", round=0, candidate=i, text=f"Step 1: {i}", finish_reason="stop",
                            final=False, duplicate_of=None, wins=float(i)) for i in (0, 1)]
    files = {}
    for name, model, rows in (("judgments", Judgment, judged), ("rounds", Round, rounds), ("paths", SearchPath, paths),
                              ("candidates", Candidate, candidates)):
        files[name] = tmp_path / f"{name}.parquet"
        write_parquet(files[name], model, rows)
    stats = query("rollout_metrics", **files).row(0, named=True)
    assert stats["judgments"] == 2 and stats["parse_failures"] == 1 and stats["parse_failure_rate"] == 0.5
    assert read_parquet(files["judgments"], Judgment)[0].raw == "A is better"  # kept as it was


# --- a stage fed a broken file: exit 2, one clear line, no output touched ------------------------------


def test_stage_with_broken_input_fails_clearly_and_loses_nothing(tmp_path):
    for name in ("params.yaml",):
        (tmp_path / name).write_text((ROOT / name).read_text())
    problems = tmp_path / "data" / "problems"
    problems.mkdir(parents=True)
    (problems / "sft.jsonl").write_text(row() + "\n" + row(id="t-2", answer="\\frac{3}{") + "\n")
    (problems / "test.jsonl").write_text(row(id="t-9") + "\n")
    sets = tmp_path / "data" / "sets"
    sets.mkdir()
    (sets / "ift.parquet").write_bytes(b"earlier output")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PSRLM_NO_PROGRESS": "1"}
    proc = subprocess.run([sys.executable, "-m", "stages.sets"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "data/problems/sft.jsonl:2: field 'answer'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (sets / "ift.parquet").read_bytes() == b"earlier output"
