"""torch.onnx: a model's forward pass as an ONNX graph.

`export(model, args, f)` runs the model once under a tracing TorchFunctionMode (_export.py):
each ember function or Tensor method applied to a value that depends on the inputs becomes ONNX
nodes (_symbolic.py); everything else (parameters, buffers, tensors built from constants) is
computed as usual and stored as an initializer. Python control flow is fixed at the traced
call, as torch's tracing exporter fixes it; `dynamic_axes` names the input and output dims
that may vary, and then the sizes read from traced tensors are traced too (_sizes.py).
Writing the file needs the `onnx` package (pip install "ember[onnx]"); onnxruntime runs the
result (`ONNXProgram.__call__`)."""
from .errors import OnnxExporterError, UnsupportedOperatorError
from ._export import ONNXProgram, TrainingMode, export, is_in_onnx_export

__all__ = ["export", "ONNXProgram", "TrainingMode", "is_in_onnx_export", "OnnxExporterError",
           "UnsupportedOperatorError", "errors"]


def __getattr__(name):
    if name == "errors":
        from . import errors
        return errors
    raise AttributeError(f"module 'ember.onnx' has no attribute '{name}'")
