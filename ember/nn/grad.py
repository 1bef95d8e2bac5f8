"""torch.nn.grad (also F.grad): the input and weight gradients of conv1d/2d/3d, given the
gradient of the output. A convolution is linear in each argument, so each is the gradient of
the convolution of a zero tensor of the requested size; the results are differentiable in
the other arguments, as torch's convolution_backward is."""
from ..autograd import grad as _grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..ops.creation import zeros
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]


def _gradient(conv, x, w, wrt, grad_output, stride, padding, dilation, groups):
    graph = is_grad_enabled() and (x.requires_grad or w.requires_grad or
                                   grad_output.requires_grad)
    with enable_grad():
        target = wrt.detach().requires_grad_()
        args = (target, w) if wrt is x else (x, target)
        out = conv(*args, None, stride, padding, dilation, groups)
        return _grad(out, target, grad_output, create_graph=graph)[0]


def _input_fn(conv):
    def fn(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
        x = zeros(tuple(input_size), dtype=grad_output.dtype, device=grad_output.device)
        return _gradient(conv, x, weight, x, grad_output, stride, padding, dilation, groups)
    fn.__name__ = fn.__qualname__ = f"{conv.__name__}_input"
    return fn


def _weight_fn(conv):
    def fn(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
        w = zeros(tuple(weight_size), dtype=grad_output.dtype, device=grad_output.device)
        return _gradient(conv, input, w, w, grad_output, stride, padding, dilation, groups)
    fn.__name__ = fn.__qualname__ = f"{conv.__name__}_weight"
    return fn


conv1d_input, conv1d_weight = _input_fn(F.conv1d), _weight_fn(F.conv1d)
conv2d_input, conv2d_weight = _input_fn(F.conv2d), _weight_fn(F.conv2d)
conv3d_input, conv3d_weight = _input_fn(F.conv3d), _weight_fn(F.conv3d)
