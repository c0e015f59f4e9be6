"""Realistic student mistakes (mutants) and differently written correct solutions for the REINFORCE assignment.

A mutant replaces one answer cell of the instructor solution by a buggy version and names the graded cells it
must fail; ``slow`` mutants are only caught by a learning check (a full training run). An alternative replaces
several answer cells by a correct solution written another way; it must keep full marks.
"""

from dataclasses import dataclass

from tests.helpers import solution_function


@dataclass(frozen=True)
class Mutant:
    name: str
    function: str
    source: str
    must_fail: tuple[str, ...]
    slow: bool = False


def _train_with(old: str, new: str) -> str:
    source = solution_function("reinforce", "train_reinforce")
    assert old in source, old
    return source.replace(old, new)


MUTANTS = [
    # --- discounted_returns ---------------------------------------------------------------------------------
    Mutant("returns_computed_forwards", "discounted_returns", '''
def discounted_returns(rewards, gamma):
    returns, running = [], 0.0
    for r in rewards:
        running = r + gamma * running
        returns.append(running)
    return np.array(returns)
''', ("returns_recursion", "returns_gamma_edge_cases")),
    Mutant("returns_without_discount", "discounted_returns", '''
def discounted_returns(rewards, gamma):
    rewards = np.asarray(rewards, dtype=float)
    return np.cumsum(rewards[::-1])[::-1].copy()
''', ("returns_recursion", "returns_gamma_edge_cases")),
    Mutant("returns_whole_episode_return_everywhere", "discounted_returns", '''
def discounted_returns(rewards, gamma):
    rewards = np.asarray(rewards, dtype=float)
    total = np.sum(rewards * gamma ** np.arange(len(rewards)))
    return np.full(len(rewards), total)
''', ("returns_recursion", "returns_gamma_edge_cases")),
    Mutant("returns_discount_applied_to_the_reward", "discounted_returns", '''
def discounted_returns(rewards, gamma):
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = gamma * (rewards[t] + running)
        returns[t] = running
    return returns
''', ("returns_recursion", "returns_gamma_edge_cases")),
    # --- CategoricalPolicy ----------------------------------------------------------------------------------
    Mutant("categorical_logits_passed_as_probs", "CategoricalPolicy", '''
class CategoricalPolicy(nn.Module):
    def __init__(self, obs_dim, n_actions, hidden_sizes=(64,)):
        super().__init__()
        self.logits_net = mlp([obs_dim, *hidden_sizes, n_actions])

    def distribution(self, obs):
        obs = torch.as_tensor(obs, dtype=torch.float32)
        return torch.distributions.Categorical(probs=torch.sigmoid(self.logits_net(obs)))
''', ("reinforce_loss_gradient",)),
    Mutant("categorical_softmax_over_the_batch", "CategoricalPolicy", '''
class CategoricalPolicy(nn.Module):
    def __init__(self, obs_dim, n_actions, hidden_sizes=(64,)):
        super().__init__()
        self.logits_net = mlp([obs_dim, *hidden_sizes, n_actions])

    def distribution(self, obs):
        obs = torch.as_tensor(obs, dtype=torch.float32)
        return torch.distributions.Categorical(probs=torch.softmax(self.logits_net(obs), dim=0))
''', ("categorical_policy", "reinforce_loss_gradient")),
    # --- reinforce_loss -------------------------------------------------------------------------------------
    Mutant("loss_gradient_ascent_sign_flipped", "reinforce_loss", '''
def reinforce_loss(log_probs, returns):
    return (log_probs * returns).mean()
''', ("reinforce_loss_value", "reinforce_loss_gradient", "gradient_sign")),
    Mutant("loss_returns_broadcast_to_a_matrix", "reinforce_loss", '''
def reinforce_loss(log_probs, returns):
    returns = torch.as_tensor(returns).reshape(-1, 1)
    return -(log_probs * returns).mean()
''', ("reinforce_loss_value", "reinforce_loss_gradient")),
    Mutant("loss_log_probs_detached", "reinforce_loss", '''
def reinforce_loss(log_probs, returns):
    return torch.tensor(-(log_probs.detach() * returns).mean().item(), requires_grad=True)
''', ("reinforce_loss_value", "reinforce_loss_gradient")),
    Mutant("loss_weights_probabilities_not_log_probabilities", "reinforce_loss", '''
def reinforce_loss(log_probs, returns):
    return -(log_probs.exp() * returns).mean()
''', ("reinforce_loss_value", "reinforce_loss_gradient")),
    # --- GaussianPolicy -------------------------------------------------------------------------------------
    Mutant("gaussian_log_std_not_a_parameter", "GaussianPolicy", '''
class GaussianPolicy(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden_sizes=(64,)):
        super().__init__()
        self.mean_net = mlp([obs_dim, *hidden_sizes, act_dim])
        self.log_std = torch.zeros(act_dim, requires_grad=True)

    def distribution(self, obs):
        obs = torch.as_tensor(obs, dtype=torch.float32)
        mean = self.mean_net(obs)
        return torch.distributions.Independent(torch.distributions.Normal(mean, self.log_std.exp()), 1)
''', ("gaussian_gradients",)),
    Mutant("gaussian_std_detached", "GaussianPolicy", '''
class GaussianPolicy(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden_sizes=(64,)):
        super().__init__()
        self.mean_net = mlp([obs_dim, *hidden_sizes, act_dim])
        self.log_std = nn.Parameter(torch.zeros(act_dim))

    def distribution(self, obs):
        obs = torch.as_tensor(obs, dtype=torch.float32)
        mean = self.mean_net(obs)
        std = self.log_std.exp().detach()
        return torch.distributions.Independent(torch.distributions.Normal(mean, std), 1)
''', ("gaussian_gradients",)),
    Mutant("gaussian_log_prob_not_summed", "GaussianPolicy", '''
class GaussianPolicy(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden_sizes=(64,)):
        super().__init__()
        self.mean_net = mlp([obs_dim, *hidden_sizes, act_dim])
        self.log_std = nn.Parameter(torch.zeros(act_dim))

    def distribution(self, obs):
        obs = torch.as_tensor(obs, dtype=torch.float32)
        return torch.distributions.Normal(self.mean_net(obs), self.log_std.exp())
''', ("gaussian_log_prob",)),
    Mutant("gaussian_variance_used_as_the_scale", "GaussianPolicy", '''
class GaussianPolicy(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden_sizes=(64,)):
        super().__init__()
        self.mean_net = mlp([obs_dim, *hidden_sizes, act_dim])
        self.log_std = nn.Parameter(torch.zeros(act_dim))

    def distribution(self, obs):
        obs = torch.as_tensor(obs, dtype=torch.float32)
        mean = self.mean_net(obs)
        variance = torch.exp(2 * self.log_std)
        return torch.distributions.Independent(torch.distributions.Normal(mean, variance.expand_as(mean)), 1)
''', ("gaussian_gradients",)),
    Mutant("gaussian_std_output_of_the_network", "GaussianPolicy", '''
class GaussianPolicy(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden_sizes=(64,)):
        super().__init__()
        self.net = mlp([obs_dim, *hidden_sizes, 2 * act_dim])
        self.act_dim = act_dim

    def distribution(self, obs):
        obs = torch.as_tensor(obs, dtype=torch.float32)
        mean, log_std = self.net(obs).split(self.act_dim, dim=-1)
        return torch.distributions.Independent(torch.distributions.Normal(mean, log_std.exp()), 1)
''', ("gaussian_log_prob", "gaussian_gradients")),
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
