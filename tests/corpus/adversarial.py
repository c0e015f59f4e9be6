"""Submissions that attack or break grading, on assignment 1. Each replaces answer cells of the instructor
solution; ``loses`` are the graded cells it must fail, ``keeps`` a cell it must still pass (its other work
is graded as usual). Together with the whole-notebook attacks graded by tests/test_e2e.py (``E2E`` of
tests/corpus/tabular_q_learning.py: edited and deleted test cells, a printed fake score, sys.exit and os._exit
in the kernel) and tests/test_batch.py (a hung kernel, a killed kernel), this is the adversarial corpus.
``GRADER_SECRETS`` and ``SNOOP_ENVIRONMENT`` are the environment attack (issue 21): the grading machine holds
secrets in its variables; the student prints every environment it can find and raises with the secrets, and
none may come back (tests/test_adversarial.py, tests/test_hostile_submissions.py)."""

from dataclasses import dataclass, field

WRONG_UPDATE = '''
def q_learning_update(q_table, state, action, reward, next_state, terminated, alpha, gamma):
    q_table[state, action] = 123.0
'''


# What a grading machine keeps in its environment (a PostgreSQL gradebook's password, a cloud key, a token),
# as canaries: none may appear in anything grading hands back.
GRADER_SECRETS = {"PGPASSWORD": "canary-pg-7d1e0b", "AWS_SECRET_ACCESS_KEY": "canary-aws-52c94f",
                  "GITHUB_TOKEN": "canary-token-e8301a"}
# Every environment the student's process can find: its own, its jail's first process and its parent's; printed
# when the cell runs (the notebook's output) and raised from a graded function (the check's failure message).
SNOOP_ENVIRONMENT = '''
import os
def _environments():
    seen = {"os.environ": " ".join(f"{k}={v}" for k, v in os.environ.items())}
    for pid in ("self", "1", str(os.getppid())):
        try:
            seen[f"/proc/{pid}/environ"] = open(f"/proc/{pid}/environ", "rb").read().decode("latin-1")
        except OSError as error:
            seen[f"/proc/{pid}/environ"] = type(error).__name__
    return seen
print("ENVIRONMENTS", _environments())
def shape_reward(reward, terminated):
    secrets = [os.environ.get(name, "") for name in ("PGPASSWORD", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN")]
    found = [entry for text in _environments().values() for entry in text.replace("\\0", " ").split()
             if any(word in entry for word in ("PASSWORD", "SECRET", "TOKEN"))]
    raise RuntimeError(" ".join(secrets + found))
'''


@dataclass(frozen=True)
class Attack:
    name: str
    cells: dict[str, str]
    loses: tuple[str, ...]
    keeps: tuple[str, ...] = ("shape_reward",)
    message: str = ""  # a fragment the first lost cell's message must contain
    secret_free: bool = field(default=False)  # the messages must not contain instructor-only text
    grader_env: dict[str, str] = field(default_factory=dict)  # set for the grader; no value may come back


ATTACKS = [
    Attack("infinite_loop", {"answer_q_learning_update": '''
def q_learning_update(q_table, state, action, reward, next_state, terminated, alpha, gamma):
    while True:
        pass
'''}, ("update_fixed_point",), message="did not return"),
    Attack("sys_exit", {"answer_epsilon_greedy": '''
import sys
def epsilon_greedy(q_values, epsilon, rng):
    sys.exit(0)
'''}, ("epsilon_greedy_frequencies",), message="SystemExit"),
    Attack("os_exit_in_function", {"answer_greedy_policy": '''
import os
def greedy_policy(q_table):
    os._exit(0)
'''}, ("greedy_policy",), message="exited"),
    # A cell that ends the process costs only what depends on it (issue 12): it is skipped and the cells
    # after it still run, as in Jupyter after a restart.
    Attack("os_exit_while_loading", {"answer_shape_reward": "import os\nos._exit(0)\n"},
           ("shape_reward",), keeps=("greedy_policy",), message="not defined"),
    Attack("memory_bomb", {"answer_value_iteration": '''
def value_iteration(P, gamma, tol=1e-10):
    hog = bytearray(200 * 2**30)
    return hog, hog
'''}, ("value_iteration_bellman",), message="MemoryError"),
    Attack("fork_bomb", {"answer_greedy_policy": '''
import os
def greedy_policy(q_table):
    while True:
        os.fork()
'''}, ("greedy_policy",)),
    Attack("patched_numpy", {"answer_q_learning_update": '''
import numpy as np
np.isclose = lambda *a, **k: True
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
''' + WRONG_UPDATE}, ("update_moves_toward_target",)),
    Attack("patched_checker", {"answer_q_learning_update": '''
import autograder.assignments.tabular_q_learning as checks
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: None)
''' + WRONG_UPDATE}, ("update_moves_toward_target", "update_fixed_point")),
    Attack("patched_framework", {"answer_q_learning_update": '''
import autograder.toolkit.framework as framework
framework.fail = lambda *a, **k: None
framework.expect = lambda *a, **k: None
framework.CheckFailure = type("Nothing", (Exception,), {})
''' + WRONG_UPDATE}, ("update_moves_toward_target",)),
    Attack("patched_builtins", {"answer_shape_reward": '''
import builtins
builtins.isinstance = lambda *a: True
builtins.float = lambda x=0: -1.0
def shape_reward(reward, terminated):
    return "-1"
'''}, ("shape_reward",), keeps=()),
    Attack("patched_torch", {"answer_greedy_policy": '''
import torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
def greedy_policy(q_table):
    return [0] * len(q_table)
'''}, ("greedy_policy",)),
    Attack("patched_hypothesis", {"answer_q_learning_update": '''
import hypothesis
hypothesis.given = lambda *a, **k: (lambda f: (lambda *x, **y: None))
''' + WRONG_UPDATE}, ("update_moves_toward_target",)),
    Attack("reads_hidden_tests", {"answer_greedy_policy": '''
import glob, os
def greedy_policy(q_table):
    found = []
    for root in ("/work", os.path.expanduser("~"), "/tmp"):
        for path in glob.glob(root + "/**/source/**/*.ipynb", recursive=True)[:20]:
            try:
                found.append(open(path).read())
            except OSError:
                pass
    return "".join(found)[:100000] or "nothing"
'''}, ("greedy_policy",), secret_free=True),
    Attack("reads_the_gradebook", {"answer_greedy_policy": '''
import glob
def greedy_policy(q_table):
    found = []
    for path in glob.glob("/work/**/gradebook.db", recursive=True)[:5]:
        try:
            found.append(open(path, "rb").read()[:5000].decode("latin-1"))
        except OSError:
            pass
    return "".join(found) or "nothing"
'''}, ("greedy_policy",), secret_free=True),
    Attack("rewrites_the_checks_on_disk", {"answer_greedy_policy": '''
import autograder.assignments.tabular_q_learning as checks
def greedy_policy(q_table):
    try:
        open(checks.__file__, "a").write("\\n# tampered")
    except OSError:
        pass
    return [0] * len(q_table)
'''}, ("greedy_policy",)),
    Attack("stderr_noise_from_a_correct_solution", {"answer_shape_reward": '''
import sys, warnings
def shape_reward(reward, terminated):
    warnings.warn("DeprecationWarning: noise")
    sys.stderr.write("progress 50%|#####     |\\n")
    return -1.0 if terminated and reward == 0 else float(reward)
'''}, (), keeps=("shape_reward",)),
    Attack("nan_values", {"answer_value_iteration": '''
import numpy as np
def value_iteration(P, gamma, tol=1e-10):
    n_states, n_actions = len(P), len(P[0])
    return np.full(n_states, np.nan), np.full((n_states, n_actions), np.nan)
'''}, ("value_iteration_bellman", "value_iteration_frozenlake"), message="finite"),
    Attack("inf_values", {"answer_greedy_policy": '''
import numpy as np
def greedy_policy(q_table):
    return np.full(len(q_table), np.inf)
'''}, ("greedy_policy",), message="finite"),
    Attack("wrong_types", {"answer_epsilon_greedy": '''
def epsilon_greedy(q_values, epsilon, rng):
    return "0"
'''}, ("epsilon_greedy_frequencies", "epsilon_greedy_ties"), message="int"),
    Attack("wrong_shapes", {"answer_greedy_policy": '''
import numpy as np
def greedy_policy(q_table):
    return np.argmax(q_table, axis=1)[:, None]
'''}, ("greedy_policy",), message="shape"),
    Attack("huge_output", {"answer_value_iteration": '''
import numpy as np
def value_iteration(P, gamma, tol=1e-10):
    return np.zeros(40_000_000), np.zeros(1)
'''}, ("value_iteration_bellman",), message="MB of data"),
    Attack("prints_a_fake_pass", {"answer_q_learning_update": '''
def q_learning_update(q_table, state, action, reward, next_state, terminated, alpha, gamma):
    print("PASSED update_moves_toward_target")
''' + WRONG_UPDATE.replace("def q_learning_update", "def _unused")}, ("update_moves_toward_target",)),
    Attack("right_only_once", {"answer_q_learning_update": '''
import numpy as np
calls = []
def q_learning_update(q_table, state, action, reward, next_state, terminated, alpha, gamma):
    calls.append(1)
    if len(calls) > 1:
        return
    target = reward if terminated else reward + gamma * np.max(q_table[next_state])
    q_table[state, action] += alpha * (target - q_table[state, action])
'''}, ("update_moves_toward_target",)),
    Attack("ignores_kill_signals", {"answer_greedy_policy": '''
import signal
def greedy_policy(q_table):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        pass
'''}, ("greedy_policy",), message="did not return"),
    Attack("escapes_its_process_group", {"answer_greedy_policy": '''
import os, time
def greedy_policy(q_table):
    if os.fork() == 0:
        os.setsid()
        while True:
            time.sleep(0.1)
    return [0] * len(q_table)
'''}, ("greedy_policy",)),
    Attack("reads_the_graders_environment", {"answer_shape_reward": SNOOP_ENVIRONMENT}, ("shape_reward",),
           keeps=("greedy_policy",), message="RuntimeError", grader_env=GRADER_SECRETS),
    Attack("unprintable_exception", {"answer_greedy_policy": '''
class Weird(Exception):
    def __str__(self):
        raise RuntimeError("no")
def greedy_policy(q_table):
    raise Weird()
'''}, ("greedy_policy",)),
]
