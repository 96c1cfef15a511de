"""Every artifact's row model round-trips through its file format; bad rows fail with file, row, field."""

import json

import pytest

from schemas import (
    Candidate,
    EFTRecord,
    IFTRecord,
    Judgment,
    PreferencePair,
    Problem,
    Round,
    SearchPath,
)
from schemas.table import ArtifactError, read_jsonl, read_parquet, write_jsonl, write_parquet

ROWS = {
    Problem: Problem(id="t-1", source="toy", problem="Mia has 2 apples.", answer="2", steps=["2 + 0 = 2."]),
    IFTRecord: IFTRecord(id="i", problem_id="t-1", problem="q", steps=["Step 1: 1 + 1 = 2."]),
    EFTRecord: EFTRecord(id="e", problem_id="t-1", problem="q", previous_steps=[], step_a="Step 1: a",
                         step_b="Step 1: b", verdict="B", explanation="b is right", corruption="wrong_operand",
                         pair_id="p"),
    Candidate: Candidate(problem_id="t-1", round=0, candidate=1, text="Step 1: x", finish_reason="stop",
                         final=False, duplicate_of=None, wins=2.0),
    Judgment: Judgment(problem_id="t-1", round=0, first=0, second=1, raw="garbled", verdict=None, p_a=None, winner=None),
    Round: Round(problem_id="t-1", round=0, position=1, prompt="p", n_candidates=6, n_distinct=3, best=None,
                 worst=None, best_wins=1.0, worst_wins=1.0, outcome="tie_rollback", discarded=False),
    SearchPath: SearchPath(problem_id="t-1", steps=["Step 1: x"], answer=None, gold="2", correct=False, n_rounds=3,
                           n_rollbacks=1, stop_reason="max_steps"),
    PreferencePair: PreferencePair(prompt="p", chosen="Step 1: a", rejected="Step 1: b", chosen_final=True,
                                   rejected_final=False, chosen_wins=3, rejected_wins=1, problem_id="t-1", round=0,
                                   position=1, n_distinct=3, model="m1"),
}


@pytest.mark.parametrize("model", list(ROWS), ids=lambda m: m.__name__)
def test_parquet_round_trip(tmp_path, model):
    path = tmp_path / "t.parquet"
    rows = [ROWS[model], ROWS[model].model_copy(update={model.unique_key: "other"} if model.unique_key else {})]
    assert write_parquet(path, model, rows) == 2
    assert read_parquet(path, model) == rows


def test_empty_table_round_trip(tmp_path):
    write_parquet(tmp_path / "e.parquet", PreferencePair, [])
    assert read_parquet(tmp_path / "e.parquet", PreferencePair) == []


def test_jsonl_round_trip(tmp_path):
    write_jsonl(tmp_path / "p.jsonl", Problem, [ROWS[Problem]])
    assert read_jsonl(tmp_path / "p.jsonl", Problem) == [ROWS[Problem]]


def test_reader_checks_columns(tmp_path):
    write_parquet(tmp_path / "c.parquet", Candidate, [ROWS[Candidate]])
    with pytest.raises(ArtifactError, match="columns do not match Judgment"):
        read_parquet(tmp_path / "c.parquet", Judgment)


def test_malformed_jsonl_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = ROWS[Problem].model_dump_json()
    path.write_text(good + "\n{not json\n")
    with pytest.raises(ArtifactError, match=r"bad.jsonl:2: malformed JSON"):
        read_jsonl(path, Problem)


def test_missing_field_names_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    row = json.loads(ROWS[Problem].model_dump_json())
    del row["answer"]
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(ArtifactError, match=r"bad.jsonl:1: field 'answer'"):
        read_jsonl(path, Problem)


def test_a_tie_is_not_a_pair():
    with pytest.raises(ValueError, match="ties make no pair"):
        PreferencePair(**{**ROWS[PreferencePair].model_dump(), "rejected_wins": 3})
