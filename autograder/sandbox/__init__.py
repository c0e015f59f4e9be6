"""Run a student's code in a separate, jailed process and call it from the grader.

Public API (the rest of the project uses only these): :class:`Sandbox` (``client``), the errors and stand-ins
it hands out (from :mod:`autograder.toolkit.remote`), and the jail's questions (``jail``): can this machine
jail a process (``network_jail``), who would a worker run as (``unprivileged_user``), what it must never see
(``sensitive_paths``), where the course packages lie (``package_roots``). ``worker``, ``shell`` and ``wire``
are the worker's side and the framing both sides share.
"""

from autograder.sandbox.client import CellLoad, Sandbox, error_output
from autograder.sandbox.jail import network_jail, package_roots, sensitive_paths, unprivileged_user
from autograder.toolkit.remote import (
    MissingDefinition,
    RemoteRef,
    SandboxUnavailable,
    StudentCodeError,
    StudentCrash,
    StudentFunction,
    StudentTimeout,
)

__all__ = ["CellLoad", "MissingDefinition", "RemoteRef", "Sandbox", "SandboxUnavailable", "StudentCodeError",
           "StudentCrash", "StudentFunction", "StudentTimeout", "error_output", "network_jail", "package_roots",
           "sensitive_paths", "unprivileged_user"]
