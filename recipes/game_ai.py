"""Game AI: CartPole-v1 balanced by a PPO agent whose policy and value nets are HiddenNets.

A PPO agent for gymnasium's CartPole-v1 whose policy and value networks are lamina
``HiddenNet``s (``lamina.build``), scored by the mean return of its greedy policy over 100
fresh, seeded episodes (target >= 475; the episode cap is 500). Baseline, same run: a uniformly
random policy over the same 100 episodes.

PPO (Schulman et al. 2017) with clipped ratios, GAE(lambda), advantage normalisation,
gradient clipping and a linearly annealed learning rate, on 8 environments stepped in turn.
Evaluation seeds (10000 + k) never occur in training (seed * 1000 + env index).

Quick mode (tests): 16k training steps, 10 evaluation episodes.
Run: ``lamina recipe game_ai [--full]`` or ``python -m recipes.game_ai [--full]``.
"""

from __future__ import annotations

from typing import Any

from ._common import Timer, cli, result, target
from ._threads import single_thread

TARGET = 475.0
SPEC = "64:tanh-64:tanh"


def _require_gymnasium() -> None:
    """A one-line lamina DataError naming the package when gymnasium is missing."""
    from lamina.datasets._packages import Requirement

    Requirement("python", "gymnasium").require("CartPole-v1")


def train_agent(total_steps: int = 200_000, seed: int = 0, n_envs: int = 8, n_steps: int = 256,
                epochs: int = 10, minibatch: int = 256, lr: float = 3e-4, gamma: float = 0.99,
                lam: float = 0.95, clip: float = 0.2) -> Any:
    """Train with PPO; returns the policy network (4 observations -> 2 action logits)."""
    _require_gymnasium()
    import gymnasium as gym
    import numpy as np
    import torch

    import lamina

    actor = lamina.build(SPEC, in_features=4, out=2, seed=seed)       # policy: hidden.0, hidden.1
    critic = lamina.build(SPEC, in_features=4, out=1, seed=seed + 1)  # state value
    params = [*actor.parameters(), *critic.parameters()]
    opt = torch.optim.Adam(params, lr=lr, eps=1e-5)
    gen = torch.Generator().manual_seed(seed)
    envs = [gym.make("CartPole-v1") for _ in range(n_envs)]
    obs = np.stack([env.reset(seed=seed * 1000 + i)[0] for i, env in enumerate(envs)])
    n_iters = max(1, total_steps // (n_envs * n_steps))
    for it in range(n_iters):
        opt.param_groups[0]["lr"] = lr * (1.0 - it / n_iters)          # linear annealing
        obs_buf = np.zeros((n_steps, n_envs, 4), np.float32)
        A = np.zeros((n_steps, n_envs), np.int64)
        logp, R, done = (np.zeros((n_steps, n_envs), np.float32) for _ in range(3))
        V = np.zeros((n_steps + 1, n_envs), np.float32)
        for t in range(n_steps):                                       # collect a rollout
            with torch.no_grad():
                o = torch.as_tensor(obs, dtype=torch.float32)
                dist = torch.distributions.Categorical(logits=actor(o))
                a = torch.multinomial(dist.probs, 1, generator=gen)[:, 0]
                logp[t], V[t] = dist.log_prob(a).numpy(), critic(o)[:, 0].numpy()
            obs_buf[t], A[t] = obs, a.numpy()
            for i, env in enumerate(envs):
                nxt, r, term, trunc, _ = env.step(int(A[t, i]))
                R[t, i] = r
                if trunc and not term:      # cut by the time limit: bootstrap its value
                    with torch.no_grad():
                        R[t, i] += gamma * float(critic(torch.as_tensor(nxt[None]))[0, 0])
                if term or trunc:
                    done[t, i] = 1.0
                    nxt, _ = env.reset()
                obs[i] = nxt
        with torch.no_grad():
            V[n_steps] = critic(torch.as_tensor(obs, dtype=torch.float32))[:, 0].numpy()
        adv, last = np.zeros_like(R), np.zeros(n_envs, np.float32)
        for t in reversed(range(n_steps)):                             # GAE(lambda)
            keep = 1.0 - done[t]
            last = R[t] + gamma * V[t + 1] * keep - V[t] + gamma * lam * keep * last
            adv[t] = last
        batch = [torch.as_tensor(x.reshape(-1, *x.shape[2:])) for x in
                 (obs_buf, A, logp, adv, adv + V[:-1])]
        for _ in range(epochs):                                        # clipped PPO updates
            perm = torch.randperm(n_envs * n_steps, generator=gen)
            for s in range(0, len(perm), minibatch):
                o, a, old, ad, ret = (x[perm[s:s + minibatch]] for x in batch)
                dist = torch.distributions.Categorical(logits=actor(o))
                ratio = torch.exp(dist.log_prob(a) - old)
                ad = (ad - ad.mean()) / (ad.std() + 1e-8)
                policy_loss = -torch.min(ratio * ad, ratio.clamp(1 - clip, 1 + clip) * ad).mean()
                value_loss = ((critic(o)[:, 0] - ret) ** 2).mean()
                opt.zero_grad()
                (policy_loss + 0.5 * value_loss).backward()
                torch.nn.utils.clip_grad_norm_(params, 0.5)
                opt.step()
    return actor


def evaluate(policy: Any, episodes: int = 100, seed: int = 10_000) -> list[float]:
    """Returns of ``policy`` (None: uniformly random actions) on seeded fresh episodes."""
    _require_gymnasium()
    import gymnasium as gym
    import numpy as np
    import torch

    env = gym.make("CartPole-v1")
    rng = np.random.default_rng(seed)
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        total, finished = 0.0, False
        while not finished:
            if policy is None:
                action = int(rng.integers(2))
            else:
                with torch.no_grad():
                    action = int(policy(torch.as_tensor(obs[None], dtype=torch.float32)).argmax())
            obs, reward, term, trunc, _ = env.step(action)
            total += float(reward)
            finished = term or trunc
        returns.append(total)
    return returns


def run(full: bool = False, seed: int = 0) -> dict[str, Any]:
    """CartPole-v1: mean return of a PPO agent with HiddenNet policy/value vs a random policy."""
    import numpy as np
    import torch

    episodes = 100 if full else 10
    steps = 200_000 if full else 16_384
    with Timer() as timer, single_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with Timer() as training:
            policy = train_agent(steps, seed)
        returns = evaluate(policy, episodes)
        random_returns = evaluate(None, episodes)
    notes = [f"PPO, {steps} environment steps ({training.seconds:.0f} s); policy and value: "
             f"lamina.build({SPEC!r}); greedy evaluation on {episodes} fresh seeded episodes, "
             f"min return {min(returns):.0f}"]
    return result("game_ai", full=full, data=f"gymnasium CartPole-v1, {episodes} episodes",
                  metrics={"mean_return": float(np.mean(returns))},
                  baselines={"mean_return_random": float(np.mean(random_returns))},
                  targets=[target("mean_return", ">=", TARGET)], seconds=timer.seconds,
                  notes=notes)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cli(run, argv, "game_ai")


if __name__ == "__main__":
    main()
