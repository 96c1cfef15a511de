import pytest

from psrlm.grader import extract_answer, is_correct, is_equivalent, last_boxed, too_costly
from psrlm.prompts import parse_verdict


def test_last_boxed_handles_nesting_and_takes_the_last():
    assert last_boxed("\\boxed{1} then \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert last_boxed("no box") is None


def test_the_answer_is_the_last_box_and_the_fallback_is_a_choice():
    assert extract_answer("12 apples, \\boxed{14} in all, 15") == "14"  # a box wins over any number
    assert extract_answer("so there are 12 apples, 14 in all.") is None  # METHOD.md: no box, no answer
    assert extract_answer("so there are 12 apples, 14 in all.", "last_number") == "14"
    assert extract_answer("nothing", "last_number") is None
    assert not is_correct("The answer is 14.", "14") and is_correct("The answer is 14.", "14", "last_number")
    with pytest.raises(ValueError, match="unknown answer fallback"):
        extract_answer("14", "first_number")


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


# Equivalent forms of one answer (predicted, gold): numbers, fractions, radicals, lists, intervals, sets,
# equations, units and text, in the forms models write and data sets store them.
EQUIVALENT = [
    ("\\frac{1}{2}", "0.5"),
    ("0.5", "\\frac{1}{2}"),
    ("1/2", "\\frac{1}{2}"),
    ("\\boxed{\\dfrac12}", "0.5"),
    ("\\frac12", "\\tfrac{1}{2}"),
    ("27.0", "27"),
    ("-3.0", "-3"),
    ("1,000", "1000"),
    ("025", "25"),
    ("(1, 2)", "1,2"),
    ("1,2", "(1,2)"),
    ("\\sqrt{2}/2", "\\frac{\\sqrt2}{2}"),
    ("2\\sqrt{2}", "\\sqrt{8}"),
    ("\\frac{\\pi}{2}", "\\pi/2"),
    ("[1,3)", "[1, 3)"),
    ("(-\\infty, 2]", "(-\\infty,2]"),
    ("x \\in [1, 3)", "[1,3)"),
    ("\\{2, 1\\}", "\\{1,2\\}"),
    ("x(x+2)", "x^2+2x"),
    ("x = 3", "3"),
    ("5\\text{ cm}", "5"),
    ("120^\\circ", "120"),
    ("\\$5", "5"),
    ("\\text{Evelyn}", "Evelyn"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\frac{\\pi}{2})"),
    ("$\\frac{4\\sqrt{5}}{5}$", "\\frac{4}{\\sqrt5}"),
]

DIFFERENT = [
    ("26", "27"),
    ("0.333", "\\frac{1}{3}"),
    ("\\frac{1}{3}", "\\frac{1}{2}"),
    ("1,2", "12"),
    ("(2, 1)", "(1, 2)"),
    ("(1,3)", "[1,3)"),
    ("[1, 3]", "[1, 3)"),
    ("\\sqrt{3}", "\\sqrt{2}"),
    ("2\\pi", "\\pi"),
    ("x^2-2x", "x^2+2x"),
    ("\\{1, 2\\}", "\\{1, 2, 3\\}"),
    ("Evlyne", "Evelyn"),  # sympy alone would call anagrams equal (products of one-letter symbols)
    ("\\text{east}", "\\text{west}"),
    ("-5", "5"),
    ("9^{9^{9}}", "9^{9^{9}}+1"),  # too costly for sympy: compared as strings, never hangs
]


@pytest.mark.parametrize(("predicted", "gold"), EQUIVALENT)
def test_equivalent_answers_match(predicted, gold):
    assert is_equivalent(predicted, gold)


@pytest.mark.parametrize(("predicted", "gold"), DIFFERENT)
def test_different_answers_do_not_match(predicted, gold):
    assert not is_equivalent(predicted, gold)


def test_plain_numbers_take_the_fast_path(monkeypatch):
    """Numbers never reach math-verify, so the toy pipeline pays nothing for it."""
    import psrlm.grader as grader

    def boom(*_):
        raise AssertionError("math-verify called on plain numbers")

    monkeypatch.setattr(grader, "symbolic_equivalent", boom)
    assert is_equivalent("27.0", "27") and not is_equivalent("12", "13") and is_equivalent("\\frac{1}{2}", "0.5")


def test_math_verify_failures_are_not_equivalent(monkeypatch):
    import math_verify

    def broken(*_, **__):
        raise RuntimeError("sympy blew up")

    monkeypatch.setattr(math_verify, "verify", broken)
    assert not is_equivalent("\\sqrt{2}/2", "\\frac{\\sqrt2}{2}")


def test_equivalence_works_off_the_main_thread():
    """math-verify's signal-based timeout would raise in a worker thread; the grader runs without it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(is_equivalent, "\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt3}").result()


def test_too_costly_answers_are_spotted():
    assert too_costly("10^{10^{10}}") and too_costly("9^{99999999}") and too_costly("1000000!")
    assert not too_costly("2^{10}") and not too_costly("\\frac{1}{2}") and not too_costly("5!")
