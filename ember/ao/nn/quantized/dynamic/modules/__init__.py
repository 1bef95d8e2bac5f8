from .linear import Linear  # noqa: F401
from .rnn import GRU, LSTM  # noqa: F401
