"""Realistic student mistakes (mutants) and differently written correct solutions for the REINFORCE assignment.

A mutant replaces one answer cell of the instructor solution by a buggy version and names the graded cells it
must fail; ``slow`` mutants are only caught by a learning check (a full training run). An alternative replaces
several answer cells by a correct solution written another way; it must keep full marks.
"""

from tests.corpus import EndToEnd, Mutant, Submission, mutant, substituted


def _train_with(old: str, new: str) -> str:
    return substituted("reinforce", "train_reinforce", (old, new))


ASSIGNMENT = "reinforce"

# The instructor's code that several mutants below change.
RETURNS_BODY = '''    returns = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns
'''

# The least this corpus holds (it only grows): mutants that run by default, alternatives.
FLOOR = (10, 3)

MUTANTS = [
    # --- discounted_returns ---------------------------------------------------------------------------------
    mutant(ASSIGNMENT, "returns_computed_forwards", "discounted_returns",
           ('''    rewards = np.asarray(rewards, dtype=float)
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns
''',
            '''    returns, running = [], 0.0
    for r in rewards:
        running = r + gamma * running
        returns.append(running)
    return np.array(returns)
'''),
           ("returns_recursion", "returns_gamma_edge_cases")),
    mutant(ASSIGNMENT, "returns_without_discount", "discounted_returns",
           (RETURNS_BODY,
            "    return np.cumsum(rewards[::-1])[::-1].copy()\n"),
           ("returns_recursion", "returns_gamma_edge_cases")),
    mutant(ASSIGNMENT, "returns_whole_episode_return_everywhere", "discounted_returns",
           (RETURNS_BODY,
            '''    total = np.sum(rewards * gamma ** np.arange(len(rewards)))
    return np.full(len(rewards), total)
'''),
           ("returns_recursion", "returns_gamma_edge_cases")),
    mutant(ASSIGNMENT, "returns_discount_applied_to_the_reward", "discounted_returns",
           [("    rewards = np.asarray(rewards, dtype=float)\n",
            ""),
            ("rewards[t] + gamma * running",
            "gamma * (rewards[t] + running)")],
           ("returns_recursion", "returns_gamma_edge_cases")),
    # --- CategoricalPolicy ----------------------------------------------------------------------------------
    mutant(ASSIGNMENT, "categorical_logits_passed_as_probs", "CategoricalPolicy",
           ("logits=self.logits_net(obs",
            "probs=torch.sigmoid(self.logits_net(obs)"),
           ("reinforce_loss_gradient",)),
    mutant(ASSIGNMENT, "categorical_softmax_over_the_batch", "CategoricalPolicy",
           ("logits=self.logits_net(obs",
            "probs=torch.softmax(self.logits_net(obs), dim=0"),
           ("categorical_policy", "reinforce_loss_gradient")),
    # --- reinforce_loss -------------------------------------------------------------------------------------
    mutant(ASSIGNMENT, "loss_gradient_ascent_sign_flipped", "reinforce_loss",
           ('''    returns = torch.as_tensor(returns, dtype=log_probs.dtype).detach()
    return -(log_probs * returns).mean()
''',
            "    return (log_probs * returns).mean()\n"),
           ("reinforce_loss_value", "reinforce_loss_gradient", "gradient_sign")),
    mutant(ASSIGNMENT, "loss_returns_broadcast_to_a_matrix", "reinforce_loss",
           ("returns, dtype=log_probs.dtype).detach(",
            "returns).reshape(-1, 1"),
           ("reinforce_loss_value", "reinforce_loss_gradient")),
    mutant(ASSIGNMENT, "loss_log_probs_detached", "reinforce_loss",
           ('''    returns = torch.as_tensor(returns, dtype=log_probs.dtype).detach()
    return -(log_probs * returns).mean()
''',
            '''    return torch.tensor(-(log_probs.detach() * returns).mean().item(), requires_grad=True)
'''),
           ("reinforce_loss_value", "reinforce_loss_gradient")),
    mutant(ASSIGNMENT, "loss_weights_probabilities_not_log_probabilities", "reinforce_loss",
           ('''    returns = torch.as_tensor(returns, dtype=log_probs.dtype).detach()
    return -(log_probs * returns).mean()
''',
            "    return -(log_probs.exp() * returns).mean()\n"),
           ("reinforce_loss_value", "reinforce_loss_gradient")),
    # --- GaussianPolicy -------------------------------------------------------------------------------------
    mutant(ASSIGNMENT, "gaussian_log_std_not_a_parameter", "GaussianPolicy",
           [("nn.Parameter(torch.zeros(act_dim)",
            "torch.zeros(act_dim, requires_grad=True"),
            ('''        normal = torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))
        return torch.distributions.Independent(normal, 1)
''',
            '''        return torch.distributions.Independent(torch.distributions.Normal(mean, self.log_std.exp()), 1)
''')],
           ("gaussian_gradients",)),
    mutant(ASSIGNMENT, "gaussian_std_detached", "GaussianPolicy",
           ('''        normal = torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))
        return torch.distributions.Independent(normal, 1)
''',
            '''        std = self.log_std.exp().detach()
        return torch.distributions.Independent(torch.distributions.Normal(mean, std), 1)
'''),
           ("gaussian_gradients",)),
    mutant(ASSIGNMENT, "gaussian_log_prob_not_summed", "GaussianPolicy",
           ('''        mean = self.mean_net(obs)
        normal = torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))
        return torch.distributions.Independent(normal, 1)
''',
            '''        return torch.distributions.Normal(self.mean_net(obs), self.log_std.exp())
'''),
           ("gaussian_log_prob",)),
    mutant(ASSIGNMENT, "gaussian_variance_used_as_the_scale", "GaussianPolicy",
           ('''        normal = torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))
        return torch.distributions.Independent(normal, 1)
''',
            '''        variance = torch.exp(2 * self.log_std)
        return torch.distributions.Independent(torch.distributions.Normal(mean, variance.expand_as(mean)), 1)
'''),
           ("gaussian_gradients",)),
    mutant(ASSIGNMENT, "gaussian_std_output_of_the_network", "GaussianPolicy",
           [('''        self.mean_net = mlp([obs_dim, *hidden_sizes, act_dim])
        self.log_std = nn.Parameter(torch.zeros(act_dim))
''',
            '''        self.net = mlp([obs_dim, *hidden_sizes, 2 * act_dim])
        self.act_dim = act_dim
'''),
            ('''        mean = self.mean_net(obs)
        normal = torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))
        return torch.distributions.Independent(normal, 1)
''',
            '''        mean, log_std = self.net(obs).split(self.act_dim, dim=-1)
        return torch.distributions.Independent(torch.distributions.Normal(mean, log_std.exp()), 1)
''')],
           ("gaussian_log_prob", "gaussian_gradients")),
    # --- train_reinforce ------------------------------------------------------------------------------------
    Mutant("train_finishes_episodes_past_the_budget", "train_reinforce", _train_with(
        "            while steps < total_steps:\n", "            while True:\n"),
        ("train_reinforce_interface",)),
    Mutant("train_log_probs_of_resampled_actions", "train_reinforce", _train_with(
        "log_probs = policy.distribution(obs_batch).log_prob(torch.stack(batch_actions))",
        "dist = policy.distribution(obs_batch)\n        log_probs = dist.log_prob(dist.sample())"),
        ("reinforce_cartpole", "reinforce_point_reach"), slow=True),
    Mutant("train_gradient_ascent_on_the_loss", "train_reinforce", _train_with(
        "        loss.backward()\n", "        (-loss).backward()\n"),
        ("reinforce_cartpole", "reinforce_point_reach"), slow=True),
    Mutant("train_returns_with_shape_n_by_1", "train_reinforce", _train_with(
        "returns = torch.as_tensor(np.concatenate(batch_returns), dtype=torch.float32)",
        "returns = torch.as_tensor(np.concatenate(batch_returns), dtype=torch.float32).reshape(-1, 1)"),
        ("reinforce_cartpole", "reinforce_point_reach"), slow=True),
]


ALTERNATIVES = {
    # Vectorised returns, Categorical from probabilities, a MultivariateNormal policy with ReLU-free explicit
    # layers, a summed-then-divided loss, and a training loop that collects a fixed number of episodes with its
    # own loop structure and a torch.Generator for sampling.
    "vectorised_multivariate": {
        "discounted_returns": '''
def discounted_returns(rewards, gamma):
    rewards = np.array(rewards, dtype=np.float64)
    if gamma == 0:
        return rewards.copy()
    powers = gamma ** np.arange(len(rewards))
    return np.cumsum((rewards * powers)[::-1])[::-1] / powers
''',
        "CategoricalPolicy": '''
class CategoricalPolicy(torch.nn.Module):
    def __init__(self, obs_dim, n_actions, hidden_sizes=(64,)):
        super().__init__()
        sizes = [obs_dim, *hidden_sizes]
        self.hidden = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = torch.nn.Linear(sizes[-1], n_actions)

    def distribution(self, obs):
        x = torch.as_tensor(obs, dtype=torch.float32)
        for layer in self.hidden:
            x = torch.tanh(layer(x))
        return torch.distributions.Categorical(probs=torch.softmax(self.out(x), dim=-1))
''',
        "GaussianPolicy": '''
class GaussianPolicy(torch.nn.Module):
    def __init__(self, obs_dim, act_dim, hidden_sizes=(64,)):
        super().__init__()
        self.body = mlp([obs_dim, *hidden_sizes, act_dim])
        self.log_sigma = torch.nn.Parameter(torch.zeros(1, act_dim))

    def distribution(self, obs):
        mu = self.body(torch.as_tensor(obs, dtype=torch.float32))
        var = torch.exp(2 * self.log_sigma).reshape(-1)
        return torch.distributions.MultivariateNormal(mu, covariance_matrix=torch.diag_embed(var.expand_as(mu)))
''',
        "reinforce_loss": '''
def reinforce_loss(log_probs, returns):
    weights = returns.detach().to(log_probs.dtype)
    return -torch.sum(weights * log_probs) / log_probs.shape[0]
''',
        "train_reinforce": '''
def train_reinforce(env, total_steps, config, seed):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed + 1)
    box = isinstance(env.action_space, gym.spaces.Box)
    obs_dim = env.observation_space.shape[0]
    if box:
        policy = GaussianPolicy(obs_dim, env.action_space.shape[0], tuple(config["hidden_sizes"]))
    else:
        policy = CategoricalPolicy(obs_dim, env.action_space.n, tuple(config["hidden_sizes"]))
    opt = torch.optim.Adam(policy.parameters(), lr=config["lr"])
    used, finished_returns = 0, []
    obs, _ = env.reset(seed=seed)
    episodes, trajectory = [], ([], [], [])
    with tqdm(total=total_steps, disable=True) as bar:
        while used < total_steps:
            with torch.no_grad():
                dist = policy.distribution(obs)
                if box:
                    action = dist.mean + dist.stddev * torch.randn(dist.mean.shape, generator=generator)
                else:
                    action = torch.multinomial(dist.probs, 1, generator=generator)[0]
            trajectory[0].append(torch.as_tensor(obs, dtype=torch.float32))
            trajectory[1].append(action)
            obs, reward, terminated, truncated, _ = env.step(action.numpy() if box else int(action))
            trajectory[2].append(reward)
            used += 1
            bar.update()
            if terminated or truncated:
                episodes.append(trajectory)
                finished_returns.append(float(np.sum(trajectory[2])))
                trajectory = ([], [], [])
                obs, _ = env.reset()
            if len(episodes) == config["episodes_per_batch"]:
                states = torch.stack([s for ep in episodes for s in ep[0]])
                actions = torch.stack([a for ep in episodes for a in ep[1]])
                g = torch.tensor(np.concatenate([discounted_returns(ep[2], config["gamma"]) for ep in episodes]),
                                 dtype=torch.float32)
                if config["normalize_returns"]:
                    g = (g - g.mean()) / (g.std() + 1e-8)
                loss = reinforce_loss(policy.distribution(states).log_prob(actions), g)
                opt.zero_grad()
                loss.backward()
                opt.step()
                episodes = []
    return policy, np.asarray(finished_returns)
''',
    },
}

EXPENSIVE = ("reinforce_cartpole", "reinforce_point_reach")

# A partly wrong submission graded twice (tests/test_checks.py): a wrong Gaussian policy, no training loop.
TWICE = Submission(base="solution", mutants=("gaussian_log_std_not_a_parameter",), unsolved=("train_reinforce",),
                   lost={"gaussian_gradients": 4.0, "train_reinforce_interface": 2.0, "reinforce_cartpole": 6.0,
                         "reinforce_point_reach": 5.0})

E2E = EndToEnd(
    submissions={
        # a correct discounted_returns only (4 + 3 points), plus attempts to fake the rest and a crash
        "adversary": Submission(solved=("discounted_returns",), prepended=(("discounted_returns", '''
import autograder.toolkit.checks
import autograder.assignments.reinforce as checks
import torch
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: print("PASSED"))
autograder.toolkit.checks.deferred_to_trusted_grader = lambda: True
torch.allclose = lambda *a, **k: True
'''),), faked=("reinforce_cartpole",), deleted=("gradient_sign",), extra=("import os\nos._exit(1)",),
            earned={"returns_recursion": 4.0, "returns_gamma_edge_cases": 3.0}),
    },
    failing_property="G[t] = r[t] + gamma * G[t+1]",
    not_in_release=("self.log_std = nn.Parameter",),
)

# Correct solutions in another numeric style (issue 23): they must keep full marks.
ALTERNATIVES["float32"] = {
    # rewards-to-go accumulated in float32 (the checks once compared with a tolerance of 1e-9), the loss
    # as a float32 dot product divided by N
    "discounted_returns": '''
def discounted_returns(rewards, gamma):
    rewards = np.asarray(rewards, dtype=np.float32)
    returns = np.zeros(len(rewards), dtype=np.float32)
    running = np.float32(0.0)
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + np.float32(gamma) * running
        returns[t] = running
    return returns
''',
    "reinforce_loss": '''
def reinforce_loss(log_probs, returns):
    returns = torch.as_tensor(returns, dtype=torch.float32).reshape(-1)
    return -torch.dot(log_probs.reshape(-1).float(), returns) / returns.numel()
''',
}
ALTERNATIVES["linear_filter_and_loops"] = {
    # another solver: the reversed rewards through the IIR filter y[n] = x[n] + gamma y[n-1]; the loss as a
    # Python sum over the steps
    "discounted_returns": '''
def discounted_returns(rewards, gamma):
    from scipy.signal import lfilter

    reversed_rewards = np.asarray(rewards, dtype=float)[::-1]
    return lfilter([1.0], [1.0, -gamma], reversed_rewards)[::-1].copy()
''',
    "reinforce_loss": '''
def reinforce_loss(log_probs, returns):
    total = 0.0
    for log_prob, ret in zip(log_probs.reshape(-1), torch.as_tensor(returns).reshape(-1)):
        total = total - log_prob * float(ret)
    return total / len(log_probs)
''',
}
