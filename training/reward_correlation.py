"""How well a method's learned reward tracks the true one on the agent's own evaluation episodes."""
from __future__ import annotations

import torch

from training.evaluation import Episodes


def reward_correlations(learned: torch.Tensor, episodes: Episodes) -> dict[str, float]:
    """Pearson's r of a learned reward with the true one, over transitions (`reward_correlation`) and over
    the episodes' returns (`return_correlation`, the number IQ-Learn's authors report)."""
    learned_returns = torch.zeros(len(episodes.returns), dtype=torch.float64).index_add_(
        0, episodes.episode, learned.double())
    return {"reward_correlation": pearson_correlation(learned, episodes.transitions.reward),
            "return_correlation": pearson_correlation(learned_returns, torch.as_tensor(episodes.returns))}


def pearson_correlation(x: torch.Tensor, y: torch.Tensor) -> float:
    """Pearson's r; NaN when either side is constant (the correlation is then undefined)."""
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    denominator = (x.norm() * y.norm()).item()
    return (x @ y).item() / denominator if denominator > 0 else float("nan")
