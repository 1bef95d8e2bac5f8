"""The one error class for files that are not (intact) checkpoints."""
import pickle


class EmberLoadError(RuntimeError, pickle.UnpicklingError):
    """A truncated, corrupt or non-checkpoint file.

    It is a RuntimeError (what torch raises for a broken zip archive) and a
    pickle.UnpicklingError (what torch raises for a broken pickle), so code written for
    either catches it. Refusals by the weights-only unpickler are plain UnpicklingErrors."""
