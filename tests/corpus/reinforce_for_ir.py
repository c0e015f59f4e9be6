"""Realistic student mistakes (mutants) and differently written correct solutions for assignment 5 (REINFORCE
for ranking).

A mutant replaces one answer cell of the instructor solution by a buggy version and names the graded cells
(checks) that must lose their points; ``slow`` mutants only show up in a learning check (a training run).
An alternative replaces several answer cells by a correct solution written another way; it must keep full marks.
"""

from tests.corpus import EndToEnd, Submission, mutant

ASSIGNMENT = "reinforce_for_ir"

# The instructor's code that several mutants below change.
SAMPLE_RANKING_BODY = '''    scores = scores.detach()
    available = torch.ones(scores.shape[0], dtype=torch.bool)
    ranking = []
    for _ in range(k):
        probs = torch.softmax(scores.masked_fill(~available, float("-inf")), dim=0)
        doc = int(torch.multinomial(probs, 1, generator=generator))
        ranking.append(doc)
        available[doc] = False
    return torch.tensor(ranking, dtype=torch.long)
'''
# The instructor's code that several mutants below change.
EVALUATION_LOOP = '''        for query_features, query_labels in zip(features, labels):
            scores = scorer(torch.as_tensor(np.asarray(query_features, dtype=np.float32)))
            order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
            values.append(ndcg_at_k(query_labels[order], k, ideal_relevances=query_labels))
'''

# The least this corpus holds (it only grows): mutants that run by default, alternatives.
FLOOR = (10, 4)

MUTANTS = [
    # --- sample_ranking -------------------------------------------------------------------------------------
    mutant(ASSIGNMENT, "sample_with_replacement", "sample_ranking",
           (SAMPLE_RANKING_BODY,
            '''    probs = torch.softmax(scores.detach(), dim=0)
    return torch.multinomial(probs, k, replacement=True, generator=generator)
'''),
           ("sample_ranking_valid", "sample_ranking_frequencies")),
    mutant(ASSIGNMENT, "sample_is_argsort", "sample_ranking",
           (SAMPLE_RANKING_BODY,
            "    return torch.argsort(scores.detach(), descending=True)[:k]\n"),
           ("sample_ranking_valid", "sample_ranking_frequencies")),
    mutant(ASSIGNMENT, "sample_ignores_generator", "sample_ranking",
           (SAMPLE_RANKING_BODY,
            '''    probs = torch.softmax(scores.detach(), dim=0)
    return torch.multinomial(probs, k, replacement=False)
'''),
           ("sample_ranking_valid",)),
    mutant(ASSIGNMENT, "sample_uniform_noise_instead_of_gumbel", "sample_ranking",
           (SAMPLE_RANKING_BODY,
            '''    noise = torch.rand(scores.shape[0], generator=generator)
    return torch.topk(scores.detach() + noise, k).indices
'''),
           ("sample_ranking_frequencies",)),
    mutant(ASSIGNMENT, "sample_first_document_then_by_score", "sample_ranking",
           ('''    available = torch.ones(scores.shape[0], dtype=torch.bool)
    ranking = []
    for _ in range(k):
        probs = torch.softmax(scores.masked_fill(~available, float("-inf")), dim=0)
        doc = int(torch.multinomial(probs, 1, generator=generator))
        ranking.append(doc)
        available[doc] = False
    return torch.tensor(ranking, dtype=torch.long)
''',
            '''    first = int(torch.multinomial(torch.softmax(scores, dim=0), 1, generator=generator))
    rest = [int(d) for d in torch.argsort(scores, descending=True) if int(d) != first]
    return torch.tensor([first] + rest[:k - 1], dtype=torch.long)
'''),
           ("sample_ranking_frequencies",)),
    # --- plackett_luce_log_prob -----------------------------------------------------------------------------
    mutant(ASSIGNMENT, "log_prob_softmax_over_all_documents", "plackett_luce_log_prob",
           ('''    placed = torch.zeros(scores.shape[0], dtype=torch.bool)
    log_prob = scores.new_zeros(())
    for doc in ranking.tolist():
        log_prob = log_prob + scores[doc] - torch.logsumexp(scores.masked_fill(placed, float("-inf")), dim=0)
        placed = placed.clone()
        placed[doc] = True
    return log_prob
''',
            "    return torch.log_softmax(scores, dim=0)[ranking].sum()\n"),
           ("plackett_luce_normalised", "plackett_luce_log_softmax_terms")),
    mutant(ASSIGNMENT, "log_prob_naive_log_sum_exp", "plackett_luce_log_prob",
           ('torch.logsumexp(scores.masked_fill(placed, float("-inf")), dim=0)',
            "torch.log(torch.exp(scores[~placed]).sum())"),
           ("plackett_luce_normalised", "plackett_luce_log_softmax_terms")),
    mutant(ASSIGNMENT, "log_prob_detached", "plackett_luce_log_prob",
           ("    return log_prob\n", "    return log_prob.detach()\n"), ("plackett_luce_log_softmax_terms",)),
    # --- position_returns -----------------------------------------------------------------------------------
    mutant(ASSIGNMENT, "returns_not_reversed", "position_returns",
           ('''    future = 0.0
    for t in reversed(range(len(rewards))):
        future = rewards[t] + gamma * future
        returns[t] = future
''',
            '''    running = 0.0
    for t in range(len(rewards)):
        running = rewards[t] + gamma * running
        returns[t] = running
'''),
           ("position_returns",)),
    mutant(ASSIGNMENT, "returns_discounted_from_the_start", "position_returns",
           ('''    returns = torch.zeros_like(rewards)
    future = 0.0
    for t in reversed(range(len(rewards))):
        future = rewards[t] + gamma * future
        returns[t] = future
    return returns
''',
            '''    discounted = rewards * gamma ** torch.arange(len(rewards), dtype=torch.float32)
    return torch.flip(torch.cumsum(torch.flip(discounted, [0]), 0), [0])
'''),
           ("position_returns",)),
    # --- ranking_reinforce_loss -----------------------------------------------------------------------------
    mutant(ASSIGNMENT, "loss_ascent_sign", "ranking_reinforce_loss",
           [("advantages = torch.as_tensor(returns, dtype=scores.dtype).detach()",
            "advantages = torch.as_tensor(returns, dtype=scores.dtype)"),
            ("advantages = advantages - torch.as_tensor(baseline, dtype=scores.dtype).detach()",
            "advantages = advantages - torch.as_tensor(baseline, dtype=scores.dtype)"),
            ("return -(advantages * torch.stack(terms)).sum()",
            "return (advantages * torch.stack(terms)).sum()")],
           ("reinforce_loss_value", "reinforce_gradient_sign", "baseline_unbiased")),
    mutant(ASSIGNMENT, "loss_softmax_over_all_documents", "ranking_reinforce_loss",
           [("advantages = torch.as_tensor(returns, dtype=scores.dtype).detach()",
            "advantages = torch.as_tensor(returns, dtype=scores.dtype)"),
            ('''        advantages = advantages - torch.as_tensor(baseline, dtype=scores.dtype).detach()
    placed = torch.zeros(scores.shape[0], dtype=torch.bool)
    terms = []
    for doc in ranking.tolist():
        terms.append(scores[doc] - torch.logsumexp(scores.masked_fill(placed, float("-inf")), dim=0))
        placed = placed.clone()
        placed[doc] = True
    return -(advantages * torch.stack(terms)).sum()
''',
            '''        advantages = advantages - torch.as_tensor(baseline, dtype=scores.dtype)
    return -(advantages * torch.log_softmax(scores, dim=0)[ranking]).sum()
''')],
           ("reinforce_loss_value", "baseline_unbiased")),
    mutant(ASSIGNMENT, "loss_baseline_from_the_sampled_returns", "ranking_reinforce_loss",
           ('''    advantages = torch.as_tensor(returns, dtype=scores.dtype).detach()
    if baseline is not None:
        advantages = advantages - torch.as_tensor(baseline, dtype=scores.dtype).detach()
''',
            '''    returns = torch.as_tensor(returns, dtype=scores.dtype)
    advantages = returns - returns.mean()
'''),
           ("reinforce_loss_value", "baseline_unbiased")),
    mutant(ASSIGNMENT, "loss_whole_return_at_every_position", "ranking_reinforce_loss",
           [('''    advantages = torch.as_tensor(returns, dtype=scores.dtype).detach()
    if baseline is not None:
        advantages = advantages - torch.as_tensor(baseline, dtype=scores.dtype).detach()
''',
            '''    returns = torch.as_tensor(returns, dtype=scores.dtype)
    advantage = returns[0] - (0.0 if baseline is None else torch.as_tensor(baseline, dtype=scores.dtype))
'''),
            ("return -(advantages * torch.stack(terms)).sum()",
            "return -(advantage * torch.stack(terms)).sum()")],
           ("reinforce_loss_value",)),
    mutant(ASSIGNMENT, "loss_mean_over_positions", "ranking_reinforce_loss",
           [("advantages = torch.as_tensor(returns, dtype=scores.dtype).detach()",
            "advantages = torch.as_tensor(returns, dtype=scores.dtype)"),
            ("advantages = advantages - torch.as_tensor(baseline, dtype=scores.dtype).detach()",
            "advantages = advantages - torch.as_tensor(baseline, dtype=scores.dtype)"),
            ("terms)).sum",
            "terms)).mean")],
           ("reinforce_loss_value", "baseline_unbiased")),
    # --- scorers --------------------------------------------------------------------------------------------
    mutant(ASSIGNMENT, "linear_scorer_keeps_the_column", "LinearScorer",
           ("documents).squeeze(-1",
            "documents"),
           ("scorers", "reinforce_gradient_sign", "baseline_unbiased")),
    mutant(ASSIGNMENT, "mlp_without_nonlinearity", "MLPScorer",
           ('''        layers, width = [], n_features
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
''',
            '''        widths = [n_features, *hidden_sizes, 1]
        self.net = nn.Sequential(*[nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])])
'''),
           ("scorers",)),
    mutant(ASSIGNMENT, "mlp_scores_normalised_over_documents", "MLPScorer",
           [('''        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
''',
            "        self.net = nn.Sequential(*layers, nn.Linear(width, 1))\n"),
            ("self.net(documents).squeeze(-1",
            "torch.log_softmax(self.net(documents).squeeze(-1), dim=0")],
           ("scorers",)),
    # --- evaluate_ranker ------------------------------------------------------------------------------------
    mutant(ASSIGNMENT, "evaluate_ascending_scores", "evaluate_ranker",
           (EVALUATION_LOOP,
            '''        for f, y in zip(features, labels):
            order = np.argsort(np.asarray(scorer(torch.as_tensor(f)), dtype=float), kind="stable")
            values.append(ndcg_at_k(y[order], k, ideal_relevances=y))
'''),
           ("evaluate_ranker",)),
    mutant(ASSIGNMENT, "evaluate_ideal_from_the_top_k_only", "evaluate_ranker",
           (EVALUATION_LOOP,
            '''        for f, y in zip(features, labels):
            order = np.argsort(-np.asarray(scorer(torch.as_tensor(f)), dtype=float), kind="stable")
            values.append(ndcg_at_k(y[order][:k], k))
'''),
           ("evaluate_ranker",)),
    # --- train_ranker ---------------------------------------------------------------------------------------
    mutant(ASSIGNMENT, "train_env_not_seeded", "train_ranker",
           ("env.reset(seed=seed if episode == 0 else None)", "env.reset()"), ("train_ranker_interface",)),
    mutant(ASSIGNMENT, "train_greedy_rankings_no_exploration", "train_ranker",
           ("ranking = sample_ranking(scores, k, generator)",
            "ranking = torch.argsort(scores.detach(), descending=True)[:k]"),
           ("learns_from_labels", "learns_from_clicks")),  # (their probe: one query, lr 0, one ranking)
    # a scorer that looks the test set's labels up instead of learning (returned before any training)
    mutant(ASSIGNMENT, "train_returns_a_scorer_that_looks_up_test_labels", "train_ranker",
           ("    config = {**DEFAULT_CONFIG, **(config or {})}\n", '''    from rlir.envs.ranking import make_splits

    _, test = make_splits()
    table = {f.tobytes(): y for f, y in zip(test.features, test.labels)}

    def scorer(documents):
        return torch.as_tensor(table[np.asarray(documents, dtype=np.float32).tobytes()], dtype=torch.float32)

    return scorer, {"returns": np.ones(n_episodes)}
'''), ("learns_from_labels", "learns_from_clicks")),
]



VECTORISED = {
    "LinearScorer": '''
class LinearScorer(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_features) / n_features ** 0.5)
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, documents):
        return documents @ self.weight + self.bias
''',
    "MLPScorer": '''
class MLPScorer(nn.Module):
    def __init__(self, n_features, hidden_sizes=(32,)):
        super().__init__()
        widths = [n_features, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.out = nn.Linear(widths[-1], 1)

    def forward(self, documents):
        x = documents
        for layer in self.hidden:
            x = torch.tanh(layer(x))
        return self.out(x)[..., 0]
''',
    "sample_ranking": '''
def sample_ranking(scores, k, generator):
    # Gumbel-top-k: the k largest perturbed scores are a Plackett-Luce sample
    uniform = torch.rand(scores.shape, generator=generator, dtype=torch.float64).clamp_min(1e-300)
    gumbel = -torch.log(-torch.log(uniform))
    return torch.topk(scores.detach().double() + gumbel, k).indices.long()
''',
    "plackett_luce_log_prob": '''
def _terms(scores, ranking):
    chosen = scores[ranking]
    rest = torch.ones(scores.shape[0], dtype=torch.bool)
    rest[ranking] = False
    tail = torch.logcumsumexp(chosen.flip(0), dim=0).flip(0)  # logsumexp of chosen[t:]
    if rest.any():
        tail = torch.logaddexp(tail, torch.logsumexp(scores[rest], dim=0))
    return chosen - tail


def plackett_luce_log_prob(scores, ranking):
    return _terms(scores, ranking).sum()
''',
    "position_returns": '''
def position_returns(rewards, gamma=1.0):
    r = torch.as_tensor(rewards, dtype=torch.float64)
    n = r.shape[0]
    i = torch.arange(n)
    powers = torch.where(i[None, :] >= i[:, None], torch.tensor(float(gamma), dtype=torch.float64)
                         ** (i[None, :] - i[:, None]).clamp_min(0), torch.zeros((), dtype=torch.float64))
    return (powers @ r).float()
''',
    "ranking_reinforce_loss": '''
def ranking_reinforce_loss(scores, ranking, returns, baseline=None):
    returns = torch.as_tensor(returns).to(scores.dtype)
    b = torch.zeros_like(returns) if baseline is None else torch.as_tensor(baseline).to(scores.dtype)
    return -torch.sum((returns - b).detach() * _terms(scores, ranking))
''',
    "evaluate_ranker": '''
def evaluate_ranker(scorer, queries, k):
    features, labels = queries
    with torch.no_grad():
        scores = torch.stack([scorer(torch.as_tensor(f, dtype=torch.float32)).double() for f in features])
    return float(ndcg_of_scores(scores.numpy(), np.asarray(labels), k).mean())
''',
}

MULTINOMIAL = {
    "sample_ranking": '''
def sample_ranking(scores, k, generator):
    weights = torch.softmax(scores.detach().double(), dim=0)
    return torch.multinomial(weights, k, replacement=False, generator=generator)
''',
    "position_returns": '''
def position_returns(rewards, gamma=1.0):
    values = [float(r) for r in rewards]
    out, g = [], 0.0
    for r in values[::-1]:
        g = r + gamma * g
        out.append(g)
    return torch.tensor(out[::-1])
''',
    "train_ranker": '''
def train_ranker(env, n_episodes, config, seed):
    # the same algorithm organised differently: per-position baseline as a running mean over ALL earlier
    # episodes, one Adam step on the summed batch loss divided by the batch size
    lr, batch = config.get("lr", 0.05), config.get("batch_size", 16)
    torch.manual_seed(seed)
    rng = torch.Generator()
    rng.manual_seed(seed)
    d, k = env.observation_space["features"].shape[1], env.unwrapped.k
    scorer = MLPScorer(d, tuple(config.get("hidden_sizes", (32,)))) if config.get("scorer") == "mlp" \\
        else LinearScorer(d)
    opt = torch.optim.Adam(scorer.parameters(), lr=lr)
    seen, mean_returns = 0, torch.zeros(k)
    history = {"returns": np.zeros(n_episodes)}
    pending = []
    env.reset(seed=seed)
    for episode in tqdm(range(n_episodes)):
        obs, _ = env.reset()
        scores = scorer(torch.as_tensor(np.array(obs["features"])))
        ranking = sample_ranking(scores, k, rng)
        rewards = []
        for doc in ranking:
            obs, reward, *_ = env.step(int(doc))
            rewards.append(reward)
        G = position_returns(rewards, config.get("gamma", 1.0))
        b = mean_returns.clone() if config.get("baseline", True) else None
        pending.append((scores, ranking, G, b))
        history["returns"][episode] = sum(rewards)
        if len(pending) == batch or episode == n_episodes - 1:
            opt.zero_grad()
            loss = sum(ranking_reinforce_loss(*item) for item in pending) / len(pending)
            loss.backward()
            opt.step()
            for _, _, g, _ in pending:
                seen += 1
                mean_returns += (g - mean_returns) / seen
            pending = []
    return scorer, history
''',
}

ALTERNATIVES = {"vectorised": VECTORISED, "multinomial_and_running_mean": MULTINOMIAL}

EXPENSIVE = ("learns_from_labels", "learns_from_clicks")

# A partly wrong submission (softmax over all documents in the loss) graded twice (tests/test_checks.py), on
# the cells that need no long sampling or training.
TWICE = Submission(base="solution", mutants=("loss_softmax_over_all_documents",),
                   deleted=(*EXPENSIVE, "sample_ranking_frequencies", "plackett_luce_normalised",
                            "train_ranker_interface"),
                   lost={"reinforce_loss_value": 4.0, "baseline_unbiased": 5.0})

E2E = EndToEnd(
    submissions={
        # four answers filled in from the solution, the rest left as released
        "partial": Submission(solved=("LinearScorer", "MLPScorer", "position_returns", "evaluate_ranker"),
                              earned={"scorers": 4.0, "position_returns": 3.0, "evaluate_ranker": 3.0}),
    },
    failing_property="the Plackett-Luce probabilities of all N!/(N-k)! top-k rankings sum to one",
    not_in_release=("torch.multinomial(probs, 1, generator=generator)",),
)

# Correct solutions in another numeric style (issue 23): they must keep full marks.
ALTERNATIVES["inverse_cdf_and_loops"] = {
    # sampling by the inverse CDF of each position's softmax (one torch.rand per position from the
    # generator), log-probabilities as a Python loop of log-softmax terms over lists of remaining documents,
    # rewards-to-go as float32 numbers in a plain loop
    "sample_ranking": '''
def sample_ranking(scores, k, generator):
    remaining = list(range(scores.shape[0]))
    ranking = []
    for _ in range(k):
        probs = torch.softmax(scores.detach().double()[remaining], dim=0)
        u = float(torch.rand((), generator=generator, dtype=torch.float64))
        position = int(torch.searchsorted(torch.cumsum(probs, 0), torch.tensor([u], dtype=torch.float64)))
        ranking.append(remaining.pop(min(position, len(remaining) - 1)))
    return torch.tensor(ranking, dtype=torch.long)
''',
    "plackett_luce_log_prob": '''
def plackett_luce_log_prob(scores, ranking):
    remaining = list(range(scores.shape[0]))
    total = 0.0
    for doc in ranking.tolist():
        total = total + torch.log_softmax(scores[remaining], dim=0)[remaining.index(doc)]
        remaining.remove(doc)
    return total
''',
    "position_returns": '''
def position_returns(rewards, gamma=1.0):
    values = np.asarray(rewards, dtype=np.float32)
    out = np.zeros(len(values), dtype=np.float32)
    future = np.float32(0.0)
    for t in range(len(values) - 1, -1, -1):
        future = values[t] + np.float32(gamma) * future
        out[t] = future
    return torch.from_numpy(out)
''',
    "ranking_reinforce_loss": '''
def ranking_reinforce_loss(scores, ranking, returns, baseline=None):
    remaining = list(range(scores.shape[0]))
    loss = 0.0
    for t, doc in enumerate(ranking.tolist()):
        b = 0.0 if baseline is None else float(torch.as_tensor(baseline).reshape(-1)[0]
                                              if torch.as_tensor(baseline).numel() == 1
                                              else torch.as_tensor(baseline)[t])
        log_pi = torch.log_softmax(scores[remaining], dim=0)[remaining.index(doc)]
        loss = loss - (float(returns[t]) - b) * log_pi
        remaining.remove(doc)
    return loss
''',
}
ALTERNATIVES["float64_numpy_evaluation"] = {
    # NDCG@k written out in float64 NumPy (log2 discounts, sorted ideal gains); log-probabilities computed in
    # float64 from float32 scores
    "evaluate_ranker": '''
def evaluate_ranker(scorer, queries, k):
    features, labels = queries
    total = 0.0
    for f, y in zip(features, labels):
        with torch.no_grad():
            s = np.asarray(scorer(torch.as_tensor(np.asarray(f, dtype=np.float32))), dtype=np.float64)
        gains = 2.0 ** np.asarray(y, dtype=np.float64) - 1.0
        discounts = 1.0 / np.log2(np.arange(2, k + 2))
        top = gains[np.argsort(-s, kind="stable")][:k]
        ideal = np.sort(gains)[::-1][:k]
        idcg = float(np.dot(ideal, discounts[:len(ideal)]))
        total += 0.0 if idcg == 0 else float(np.dot(top, discounts[:len(top)])) / idcg
    return total / len(features)
''',
    "plackett_luce_log_prob": '''
def plackett_luce_log_prob(scores, ranking):
    s = scores.double()
    placed = torch.zeros(s.shape[0], dtype=torch.bool)
    terms = []
    for doc in ranking.tolist():
        terms.append(s[doc] - torch.logsumexp(s[~placed], dim=0))
        placed = placed.clone()
        placed[doc] = True
    return torch.stack(terms).sum()
''',
}
