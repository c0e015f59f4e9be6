"""The course's autograder: property-based checks of RL code, and the tools to grade notebooks safely.

Graded notebook cells call checks such as ``autograder.tabular_q_learning.check_update_fixed_point``. During
``nbgrader autograde`` the same cells run again outside the student's kernel (``autograder.nbgrader_plugin``),
against the student's functions in a sandboxed process (``autograder.sandbox``).
"""
