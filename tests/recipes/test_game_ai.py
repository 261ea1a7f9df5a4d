"""recipes/game_ai.py quick mode: a short PPO run must already beat a random policy clearly."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:      # `recipes` is a top-level package of the source tree
    sys.path.insert(0, str(ROOT))

from recipes import game_ai  # noqa: E402


def test_random_policy_baseline_is_short_lived():
    returns = game_ai.evaluate(None, episodes=20)
    assert 10 < sum(returns) / len(returns) < 40      # CartPole's random policy: ~22


def test_quick_training_learns_to_balance():
    import lamina

    res = game_ai.run(full=False, seed=0)
    m, b = res["metrics"], res["baselines"]
    assert m["mean_return"] > 4 * b["mean_return_random"], (m, b)
    # the policy is a lamina HiddenNet with named hidden layers
    net = lamina.build(game_ai.SPEC, in_features=4, out=2)
    assert net.hidden_names == ["hidden.0", "hidden.1"]
