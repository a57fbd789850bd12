"""The course quiz (notebook 13) in a real browser: Run All without errors, every control on screen, the outputs pass
axe-core's WCAG 2 A/AA rules, then a learner answers two questions with the mouse and keyboard, sees the grade and the
explanation appear only after Check, and exports the answers to a file beside the notebook. Screenshots before and
after go to build/screenshots/."""

from __future__ import annotations

import csv

import pytest

from .accessibility import axe_violations, describe
from .conftest import SCREENSHOTS
from .test_notebooks_render import (
    INVENTORY,
    QUIZZES,
    assert_everything_shown,
    assert_no_widget_errors,
    open_notebook,
    run_all,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name", QUIZZES)
def test_quiz_grades_and_explains_only_after_check(lab, page, notebook_copy, name):
    base, token = lab
    open_notebook(page, base, token, name)
    state = run_all(page)
    assert not state["errors"], f"{name}: error outputs {state['errors']}"
    assert not state["stderr"], f"{name}: warnings printed to stderr {state['stderr']}"
    page.wait_for_timeout(1000)
    assert_everything_shown(name, page.evaluate(INVENTORY), kinds=("control",))
    assert_no_widget_errors(page)
    violations = axe_violations(page)
    assert not violations, f"{name}: axe-core finds critical or serious violations in the outputs:\n" \
        + describe(violations)

    first = page.get_by_label("Answer 1:", exact=True)
    check_first = page.get_by_role("button", name="Check 1", exact=True)
    feedback = page.locator(".widget-html", has_text="Not quite")
    assert feedback.count() == 0 and page.get_by_text("✔ Right.").count() == 0  # nothing graded or explained yet
    first.scroll_into_view_if_needed()
    page.mouse.wheel(0, -120)  # the quiz's title in view too
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "13_course_quiz-before.png"))

    first.fill("0")  # a word has at least one token: a wrong answer, whatever the model
    check_first.click()
    feedback.first.wait_for(timeout=10_000)
    assert "the answer is" in feedback.first.inner_text() and first.is_disabled() and check_first.is_disabled()
    # Question 2 is a multiple choice: the keyboard picks the first choice, the button checks it.
    radio = page.locator(".widget-radio-box input[type=radio]").first
    radio.focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Check 2", exact=True).click()
    page.get_by_text("Score: ", exact=False).filter(has_text="of 2 answered").wait_for(timeout=10_000)
    page.screenshot(path=str(SCREENSHOTS / "13_course_quiz-after.png"))

    page.get_by_label("Your name:").fill('Ann,"<b>x</b>')
    page.get_by_role("button", name="Export my answers").click()
    page.get_by_text("Nothing was sent anywhere").wait_for(timeout=10_000)
    page.get_by_role("button", name="Export my answers").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "13_course_quiz-exported.png"))
    [path] = list((notebook_copy / "notebooks").glob("quiz-answers-*.csv"))
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    assert rows[0]["learner"] == 'Ann,"<b>x</b>' and (rows[0]["response"], rows[0]["correct"]) == ("0", "no")
    assert rows[1]["response"] and all(row["response"] == "" for row in rows[2:])
    assert_no_widget_errors(page)
