"""torch.nn.quantized.dynamic: the old name of torch.ao.nn.quantized.dynamic."""
from ember.ao.nn.quantized.dynamic import LSTM, Linear  # noqa: F401
