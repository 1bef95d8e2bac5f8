from .linear import Linear  # noqa: F401
from .rnn import LSTM  # noqa: F401
