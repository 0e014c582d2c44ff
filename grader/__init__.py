"""The course's grading harness, built on nbgrader.

Modules:
    config      nbgrader settings for this repository's layout (one source of truth)
    checks      assertions that tests call; failures say expected vs got and name the mistake
    device      the device grading runs on (CUDA when present) and how tests move data there
    feedback    the preprocessor that keeps hidden-test code out of feedback
    notebooks   reading solution/release notebooks and building student submissions
    pipeline    a grading run: generate, autograde, feedback and export with nbgrader's API
    bank        the mistake bank: wrong and alternative-correct submissions per assignment
    cli         ``python -m grader <verb>`` for instructors
"""
