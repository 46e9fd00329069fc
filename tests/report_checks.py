"""Reading a report's "The assignment's questions" section back, for tests."""

import re

QUESTION = re.compile(r"^\*\*Q(\d+)\. (.+)\*\*$")


def answered_questions(report_text):
  """Question -> {"Measured": ..., "Verdict": ..., "Reference solution": ...} for every
  question of the report's questions section, as written."""
  section = report_text.split("## The assignment's questions", 1)[1].split("\n## ", 1)[0]
  answers, current = {}, None
  for line in section.splitlines():
    match = QUESTION.match(line)
    if match:
      current = answers.setdefault(match.group(2), {})
    elif current is not None and line.startswith("- ") and ": " in line:
      field, value = line[2:].split(": ", 1)
      current[field] = value.strip()
  return answers


def assert_every_question_answered(test, report_text):
  """Every question has a non-empty measured answer and a verdict; returns them."""
  answers = answered_questions(report_text)
  test.assertNotEmpty(answers, "the report lists no question")
  for question, fields in answers.items():
    test.assertTrue(fields.get("Measured"), f"no measured answer under {question!r}")
    test.assertIn(fields.get("Verdict", "").strip("*"),
                  ("reproduced", "not reproduced", "within noise", "measured"), question)
  return answers
