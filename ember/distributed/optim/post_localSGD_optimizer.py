"""torch.distributed.optim.PostLocalSGDOptimizer: an optimizer whose every step is followed by
a model averager's average_parameters (local SGD)."""
import warnings

from ...optim.optimizer import Optimizer

__all__ = ["PostLocalSGDOptimizer"]


class PostLocalSGDOptimizer(Optimizer):
    """Wrap `optim`: step() runs optim.step() then averager.average_parameters over its param
    groups. Like torch's, it does not run Optimizer.__init__ (it shares optim's groups and
    state, and its step runs no optimizer step hooks of its own)."""

    def __init__(self, optim, averager):
        self.optim = optim
        self.param_groups = self.optim.param_groups
        self.averager = averager

    @property
    def state(self):
        return self.optim.state

    def __repr__(self):
        return self.optim.__repr__()

    def state_dict(self):
        """optim's state dict, plus the averager's step count under "step"."""
        optim_state_dict = self.optim.state_dict()
        optim_state_dict["step"] = self.averager.step
        return optim_state_dict

    def load_state_dict(self, state_dict):
        self.optim.load_state_dict(state_dict)
        if "step" in state_dict:
            self.averager.step = state_dict["step"]
        else:
            warnings.warn("Loaded state dict does not contain a step counter for an averager. "
                          "Setting step counter to 0.", stacklevel=2)
            self.averager.step = 0

    def step(self):
        self.optim.step()
        self.averager.average_parameters(params=self.param_groups)

    step.hooked = True      # torch hooks the steps of optimizers that ran Optimizer.__init__

    def zero_grad(self, set_to_none=True):
        self.optim.zero_grad(set_to_none=set_to_none)

    def add_param_group(self, param_group):
        self.optim.add_param_group(param_group)
