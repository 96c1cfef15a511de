from psrlm.grader import extract_answer, is_correct, is_equivalent, last_boxed
from psrlm.prompts import parse_verdict


def test_last_boxed_handles_nesting_and_takes_the_last():
    assert last_boxed("\\boxed{1} then \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert last_boxed("no box") is None


def test_extract_falls_back_to_last_number():
    assert extract_answer("so there are 12 apples, 14 in all.") == "14"
    assert extract_answer("nothing", fallback_to_number=True) is None
    assert extract_answer("12 apples", fallback_to_number=False) is None


def test_equivalent_forms():
    assert is_equivalent("27.0", "27")
    assert is_equivalent("1,234", "1234")
    assert is_equivalent("\\frac{1}{2}", "0.5") and is_equivalent("1/2", "\\dfrac{1}{2}")
    assert not is_equivalent("26", "27")
    assert not is_equivalent(None, "27")
    assert is_correct("Step 2: 3 * 4 = 12. The answer is \\boxed{12}.", "12")


def test_verdict_last_one_wins_and_failures_are_none():
    assert parse_verdict("A looks fine [[A]] but actually [[B]]") == "B"
    assert parse_verdict("I pick A") is None
    assert parse_verdict("[[C]]") is None
