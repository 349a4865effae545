"""What IQ-Learn and LS-IQ share: one Q-function that implicitly holds the reward, learned by replacing SAC's
soft Bellman loss with the method's own critic loss on a batch of agent rows followed by expert rows.

The implicit reward of a transition is r(s, a) = Q(s, a) - gamma (1 - d) V(s'). In offline mode the batch holds
expert rows only. In state-only mode the expert actions (withheld, NaN) are replaced before the loss: by the
agent rows' actions at the same batch positions (IQ-Learn's choice) or by the current policy's actions at the
expert states (LS-IQ's), as `algorithm.expert_action_substitute` says.
"""
from __future__ import annotations

import torch
from omegaconf import DictConfig

from algorithms.base import Algorithm
from data.transitions import Transitions
from errors import UserError, check_choice

SUBSTITUTES = ("agent_batch", "policy")


class ImplicitQAlgorithm(Algorithm):
    supports_offline = True

    def __init__(self, cfg: DictConfig, sac, expert):
        super().__init__(cfg, sac, expert)
        self.options = cfg.algorithm
        self.updates = 0  # online, the actor is trained once updates exceed algorithm.actor_start
        self.offline = cfg.imitation.offline  # offline, from the first update (as the references)

    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        super().check_config(cfg)
        options = cfg.algorithm
        check_choice(options, "expert_action_substitute", SUBSTITUTES)
        if cfg.imitation.state_only and cfg.imitation.offline and options.expert_action_substitute == "agent_batch":
            raise UserError("state-only offline learning has no agent actions to substitute; set "
                            "algorithm.expert_action_substitute=policy")
        if not isinstance(options.actor_start, int) or options.actor_start < 0:
            raise UserError(f"algorithm.actor_start={options.actor_start!r} is invalid; it must be an integer >= 0")
        if cfg.imitation.absorbing:
            raise UserError(f"algorithm={options.name} masks true terminations and bootstraps through time limits; "
                            f"it does not support DAC absorbing states: set imitation.absorbing=false")
        if cfg.imitation.absorbing_bootstrap != "exact":  # without absorbing states both forms are the same
            raise UserError(f"imitation.absorbing_bootstrap={cfg.imitation.absorbing_bootstrap} does not apply to "
                            f"algorithm={options.name}, which has no absorbing states; leave it at exact")

    def learner_update(self, agent: Transitions | None, expert: Transitions) -> dict[str, torch.Tensor]:
        batch, is_expert = self.agent_then_expert(agent, expert)
        self.updates += 1
        metrics = self.auxiliary_update(batch, is_expert)
        return metrics | self.sac.update(batch, lambda rows: self.critic_loss(rows, is_expert),
                                         update_actor=self.offline or self.updates > self.options.actor_start,
                                         actor_value=self.actor_value, bc_batch=expert)

    def auxiliary_update(self, batch: Transitions, is_expert: torch.Tensor) -> dict[str, torch.Tensor]:
        """A step of any model the method learns besides Q and the actor, before the Q step (none by default)."""
        return {}

    def agent_then_expert(self, agent: Transitions | None, expert: Transitions
                          ) -> tuple[Transitions, torch.Tensor]:
        """Agent rows then expert rows, and the mask of the expert rows."""
        if self.expert.state_only:
            expert = expert.replace(action=self.substitute_actions(agent, expert))
        if agent is None:
            return expert, torch.ones(len(expert), dtype=torch.bool, device=expert.obs.device)
        is_expert = torch.cat([torch.zeros(len(agent), dtype=torch.bool), torch.ones(len(expert), dtype=torch.bool)])
        return Transitions.concatenate(agent, expert), is_expert.to(expert.obs.device)

    @torch.no_grad()
    def substitute_actions(self, agent: Transitions | None, expert: Transitions) -> torch.Tensor:
        if self.options.expert_action_substitute == "agent_batch":
            return agent.action
        return self.sac.actor.sample(expert.obs)[0]

    def actor_value(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """What the actor maximises besides its entropy: the Q-function (pessimistic if there are several)."""
        return self.sac.critic.min(obs, action)

    def soft_value(self, obs: torch.Tensor, target: bool) -> torch.Tensor:
        """V(s) = Q(s, a~) - alpha log pi(a~|s), with a~ ~ pi(.|s) sampled without gradient (so a gradient, if any,
        reaches only the critic); from the target critic when `target`."""
        with torch.no_grad():
            action, log_prob = self.sac.actor.sample(obs)
        critic = self.sac.target_critic if target else self.sac.critic
        return critic.min(obs, action) - self.sac.alpha.detach() * log_prob

    def critic_loss(self, batch: Transitions, is_expert: torch.Tensor) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.updates = state["updates"]
