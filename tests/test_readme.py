"""The README's first two code blocks are the two commands, and CI runs the same test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _code_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [b.strip() for b in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)]


def test_readme_opens_with_exactly_a_run_command_and_a_test_command():
    run, test = _code_blocks()[:2]
    assert run == "python3 scripts/dev.py run"
    assert test == "python3 scripts/dev.py test"
    assert "\n" not in run and "\n" not in test


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = _code_blocks()[1]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_env_example_lists_every_variable_the_readme_documents():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.M))
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z_]+)=", example, flags=re.M))
    assert documented, "the README has a configuration table"
    assert documented <= listed, documented - listed
    assert listed <= documented, listed - documented
