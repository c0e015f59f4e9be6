"""The checking toolkit every assignment uses: the property-based harness, the validators of what student code
returns and the failure messages (``framework``), the graded-check registry (``checks``), the stand-ins for
student objects (``remote``), the safe wire format (``codec``) and small random MDPs for property tests
(``mdp``). It runs in the grader and in a student's own Jupyter alike; it imports nothing of the grading side."""
