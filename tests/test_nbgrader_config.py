"""The course config loads as nbgrader loads it. nbgrader only logs a broken config and carries on with its
defaults, which would silently switch off the trusted grader: this test makes that loud."""

from __future__ import annotations

from traitlets.config.loader import PyFileConfigLoader

from autograder.grading.nbgrader_plugin import GradeInSandbox, SanitizeStudentContent
from tests.helpers import ROOT


def load_config():
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def test_config_installs_the_trusted_grader_and_keeps_nbgrader_safeguards():
    config = load_config()
    pipeline = config.Autograde.autograde_preprocessors
    assert pipeline[:2] == [GradeInSandbox, SanitizeStudentContent]  # no kernel: nbgrader's Execute is gone
    assert [p.__name__ for p in pipeline[2:]] == ["IgnorePattern", "ClearMetadataPreprocessor", "LimitOutput",
                                                   "SaveAutoGrades", "AssignLatePenalties", "CheckCellMetadata"]
    # The submission is looked at once, by the grader (GradeInSandbox), not by a separate guard step.
    assert [p.__name__ for p in config.Autograde.sanitize_preprocessors] == [
        "ClearOutput", "DeduplicateIds", "OverwriteKernelspec", "OverwriteCells", "CheckCellMetadata"]
    feedback = config.GenerateFeedback.preprocessors
    assert feedback[0].__name__ == "ClearHiddenTests" and SanitizeStudentContent in feedback
    assert config.OverwriteCells.add_missing_cells is True
    assert config.IgnorePattern.enabled is True
    assert ".hypothesis" in config.CourseDirectory.ignore
    assert config.CourseDirectory.course_id == "rlir"
    assert config.GradeInSandbox.timeout > 0 and config.Execute.kernel_name == "python3"


def test_ignore_pattern_drops_warnings_and_progress_bars_but_not_tracebacks():
    import re

    pattern = load_config().IgnorePattern.pattern
    assert re.search(pattern, "/x.py:3: DeprecationWarning: old\n  warnings.warn(...)\n")
    assert re.search(pattern, "Q-learning:  45%|████▌     | 4500/10000 [00:02<00:03]")
    assert not re.search(pattern, "Traceback (most recent call last):\n  ...\nValueError: UserWarning")
    assert not re.search(pattern, "some other error text")
