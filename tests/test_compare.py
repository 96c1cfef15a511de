"""The seed comparison: runs of `dvc exp show --json` grouped by everything but the seed."""

from psrlm.compare import group_by_seed, runs_of, table


def state(name, seed, m1, m4, width=6):
    params = {"seed": seed, "search": {"width": width}}
    summary = {"m1": {"accuracy": m1, "judge_accuracy": 0.9}, "m4": {"accuracy": m4, "judge_accuracy": 0.95, "pairs": 120}}
    return {"rev": f"{name}0000000", "name": name,
            "data": {"params": {"params.yaml": {"data": params}},
                     "metrics": {"data/metrics/summary.json": {"data": summary}}}}


def test_runs_differing_only_in_seed_are_one_group_with_mean_and_std():
    shown = [{**state("workspace", 2, 0.6, 0.7), "experiments": None},
             {**state("baseline", 0, 0.5, 0.6), "experiments": [
                 {"revs": [state("exp-a", 1, 0.55, 0.5)]}, {"revs": [state("exp-b", 2, 0.6, 0.7)]},
                 {"revs": [state("exp-w", 0, 0.5, 0.9, width=4)]}]}]
    runs = runs_of(shown)
    assert len(runs) == 5
    groups = group_by_seed(runs, ["seed"])
    sizes = sorted(len(g) for g in groups)
    assert sizes == [1, 3]  # the workspace repeats exp-b (same params, same seed): counted once
    three = next(g for g in groups if len(g) == 3)
    text, stats = table(three, ["seed"])
    assert stats["m4"]["accuracy"] == [0.7, 0.6, 0.5] or sorted(stats["m4"]["accuracy"]) == [0.5, 0.6, 0.7]
    assert "| m4 | 0.600 ± 0.100 |" in text
    assert sorted(round(g, 3) for g in stats["gain"]["values"]) == [-0.05, 0.1, 0.1]
    assert "m4 > m1 in 2 of 3" in text
