"""The exploration link on its own (toy world): does the search's sampling find a right and a wrong step?

    python -m benchmarks.explore data/models/m1 [--width 6 --temperature 1.0 --top-p 0.95]

A step-level pair needs a round whose candidates mix a right and a wrong next step; no judge can make
one out of w identical samples. Here, for every problem of a validation slice (``--first``/``--count``,
as ``benchmarks.validate``: never the test split) and every position of its reference solution, the
model samples w candidate next steps after the reference prefix, exactly as the search samples them
(``search.*`` from ``params.yaml`` unless overridden: width, temperature, top_p, max_step_tokens, the
"next step" stop). The oracle (``psrlm.toy.step_error``) labels each candidate. One line per model:

- ``single``: the share of positions whose samples are all identical (the search's single-candidate rounds);
- ``mixed``: the share with a right and a wrong distinct step (a round that can make a right pair);
- ``all wrong``: the share whose candidates are all wrong (a round that can only make a wrong pair);
- ``greedy wrong, right sampled``: of the positions whose greedy step is wrong, the share where a right step
  is among the w samples (what the search can teach that greedy decoding cannot find on its own).

A second line splits ``mixed`` and ``all wrong`` by the reference step's operation (add, sub, mul): where
``sets.ift_operations`` leaves one out, this is whether the search ever proposes it. Choose search
settings (width, temperature, top_p) here, in minutes, before a loop spends an hour on them.
"""

from __future__ import annotations

import os
from collections import defaultdict

from benchmarks.validate import validation_parser, validation_problems
from psrlm.generation import Sampling, open_generator
from psrlm.params import load_params
from psrlm.prompts import chat_prompt, reasoning_prompt
from psrlm.steps import format_step, join_steps, normalize_step, step_body, step_stops
from psrlm.toy import parse_equation, step_error
from schemas import Problem


def positions(problems: list[Problem], tokenizer, style: str) -> list[tuple[str, list[str], int, str]]:
    """(prompt, reference bodies, position, the reference step's operation) per reference prefix."""
    out = []
    for p in problems:
        head = chat_prompt(tokenizer, reasoning_prompt(p.problem, style))
        bodies = [step_body(s) for s in p.steps]
        for k, body in enumerate(bodies):
            parsed = parse_equation(body)
            prefix = join_steps([format_step(i + 1, b) for i, b in enumerate(bodies[:k])])
            out.append((head + prefix, bodies, k, parsed[1] if parsed else "?"))
    return out


def explore(samples: list[list[str]], greedy: list[str], where: list[tuple[str, list[str], int, str]]) -> dict:
    """The link's figures from each position's w sampled steps and its greedy step."""
    counts: dict[str, float] = defaultdict(float)
    by_op: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for texts, best, (_, bodies, k, op) in zip(samples, greedy, where):
        labels = {normalize_step(t): step_error(bodies, bodies[:k], step_body(t)) for t in texts}
        right = [lab == "correct" for lab in labels.values()]
        counts["positions"] += 1
        counts["single"] += len(labels) == 1
        counts["mixed"] += any(right) and not all(right)
        counts["all_wrong"] += not any(right)
        if step_error(bodies, bodies[:k], step_body(best)) != "correct":
            counts["greedy_wrong"] += 1
            counts["greedy_wrong_right_sampled"] += any(right)
        by_op[op]["n"] += 1
        by_op[op]["mixed"] += any(right) and not all(right)
        by_op[op]["all_wrong"] += not any(right)
    n = counts["positions"]
    return {
        "positions": int(n),
        "single": counts["single"] / n,
        "mixed": counts["mixed"] / n,
        "all_wrong": counts["all_wrong"] / n,
        "greedy_wrong": int(counts["greedy_wrong"]),
        "greedy_wrong_right_sampled": (counts["greedy_wrong_right_sampled"] / counts["greedy_wrong"]
                                       if counts["greedy_wrong"] else None),
        "by_operation": {op: {"n": c["n"], "mixed": c["mixed"] / c["n"], "all_wrong": c["all_wrong"] / c["n"]}
                         for op, c in sorted(by_op.items())},
    }


def main() -> None:
    ap = validation_parser(__doc__)
    ap.add_argument("--width", type=int, help="default: search.width")
    ap.add_argument("--temperature", type=float, help="default: search.temperature")
    ap.add_argument("--top-p", type=float, help="default: search.top_p")
    args = ap.parse_args()
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    params = load_params()
    if params.problems.source != "toy":
        raise SystemExit("benchmarks.explore needs the toy world's oracle (problems.source: toy)")
    s = params.search
    width = args.width or s.width
    temperature = s.temperature if args.temperature is None else args.temperature
    top_p = s.top_p if args.top_p is None else args.top_p
    problems = validation_problems(params, args)
    sampling = Sampling(n=width, temperature=temperature, top_p=top_p, max_tokens=s.max_step_tokens,
                        stop=step_stops(s.step_end))
    greedy = Sampling(n=1, temperature=0.0, max_tokens=s.max_step_tokens, stop=step_stops(s.step_end))
    for model in args.models:
        generator = open_generator(model, params.generation, seed=params.seed, backend=args.backend)
        where = positions(problems, generator.tokenizer, params.prompts.style)
        prompts = [w[0] for w in where]
        samples = [[c.text.strip() for c in out] for out in generator.generate(prompts, sampling, desc="sampling")]
        best = [out[0].text.strip() for out in generator.generate(prompts, greedy, desc="greedy steps")]
        generator.close()
        m = explore(samples, best, where)
        found = m["greedy_wrong_right_sampled"]
        print(f"{model}: w={width} T={temperature} top_p={top_p} on {m['positions']} reference positions of "
              f"{args.split}[{args.first}:{args.first + len(problems)}]: single {m['single']:.3f}, mixed "
              f"{m['mixed']:.3f}, all wrong {m['all_wrong']:.3f}; greedy wrong at {m['greedy_wrong']}, a right "
              f"step sampled at {'-' if found is None else f'{found:.3f}'} of them", flush=True)
        print(f"{model}: by operation: " + ", ".join(
            f"{op} mixed {c['mixed']:.3f} all wrong {c['all_wrong']:.3f} (n={c['n']})"
            for op, c in m["by_operation"].items()), flush=True)


if __name__ == "__main__":
    main()
