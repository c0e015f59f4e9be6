"""The checking toolkit every assignment uses: the property-based harness and failure messages (``framework``),
the graded-check registry (``checks``), the stand-ins for student objects (``remote``) and the safe wire format
(``codec``). It runs in the grader and in a student's own Jupyter alike; it imports nothing of the grading side."""
