"""Run a student's code in a separate, jailed process and call it from the grader.

Public API (the rest of the project uses only these): :class:`Sandbox` (``client``), the errors and stand-ins
it hands out (from :mod:`autograder.toolkit.remote`), the policy a worker runs under (``policy``: what it
sees, writes and may use), the CPU budgets its calls spend from (``meter``: :class:`Budget`), and the jail's
questions (``jail``): how this machine jails a worker (``jail_mechanism``: bubblewrap or unshare), can it
make namespaces with unshare (``network_jail``), who would a worker run as (``unprivileged_user``), what it
must never see (``sensitive_paths``), where the course packages lie (``package_roots``). ``worker``,
``shell`` and ``wire`` are the worker's side and the framing both sides share.
"""

from autograder.sandbox.client import CellLoad, Sandbox, error_output
from autograder.sandbox.jail import jail_mechanism, network_jail, package_roots, sensitive_paths, unprivileged_user
from autograder.sandbox.meter import Budget
from autograder.sandbox.policy import DEFAULT_LIMITS, Limits, Policy
from autograder.toolkit.remote import (
    MachineBusy,
    MissingDefinition,
    RemoteRef,
    SandboxUnavailable,
    StudentCodeError,
    StudentCrash,
    StudentFunction,
    StudentTimeout,
)

__all__ = ["DEFAULT_LIMITS", "Budget", "CellLoad", "Limits", "MachineBusy", "MissingDefinition", "Policy",
           "RemoteRef", "Sandbox", "SandboxUnavailable", "StudentCodeError", "StudentCrash", "StudentFunction",
           "StudentTimeout", "error_output", "jail_mechanism", "network_jail", "package_roots", "sensitive_paths",
           "unprivileged_user"]
