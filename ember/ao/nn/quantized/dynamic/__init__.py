"""torch.ao.nn.quantized.dynamic: modules with float inputs and outputs, quantizing their
activations per call."""
from .modules import GRU, LSTM, GRUCell, Linear, LSTMCell, RNNCell  # noqa: F401
