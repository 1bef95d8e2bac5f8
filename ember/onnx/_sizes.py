"""Sizes read from traced tensors while exporting with dynamic axes.

torch's tracer records `x.shape[0]`, `x.size(1)` and the arithmetic done on them as
Shape/Gather nodes, so that `view(B, T, h, C // h)`, `expand(B, -1, -1)`, `zeros(B, n)` or
`arange(T)` follow the sizes of other inputs. The exporter does the same with SymInt: an int
(the traced size, so that Python code computes with it as usual) that also knows how to emit
the ONNX value (int64, shape [1]) holding it, and records +, -, *, //, % and negation. Sizes of
traced tensors are SymInts only inside an export that names dynamic axes, so Tensor.shape and
size() are untouched otherwise. Each value of this size graph carries its traced value
(Graph.concrete): after tracing, those that depend on static dims only are folded into
constants (Graph.fold_sizes), as torch's constant folding does."""


class SymInt(int):
    """A size computed from traced tensors: its int value is the traced one; name() emits
    (once) and returns the ONNX value holding it."""
    kept_by_size = True         # torch.Size keeps it as it is (x.size()[:-1] + (h, d))

    def __new__(cls, value, graph, make):
        self = int.__new__(cls, value)
        self.graph, self._make, self._name = graph, make, None
        return self

    def name(self):
        if self._name is None:
            self._name = self._make()
        return self._name

    def __neg__(self):
        g = self.graph
        return SymInt(-int(self), g, lambda: g.sized("Neg", [self.name()], [-int(self)]))

    def __pos__(self):
        return self


def _arith(op, fn, swap=False):
    def method(self, other):
        value = fn(other, int(self)) if swap else fn(int(self), other)
        if type(value) is not int or not isinstance(other, int) or isinstance(other, bool):
            return value            # a float, NotImplemented (a Tensor's turn): not a size
        if type(other) is int and other == _UNIT[op] and (not swap or op in ("Add", "Mul")):
            return self             # x + 0, 1 * x (math.prod's start) ...: x itself
        g = self.graph
        x, y = (other, self) if swap else (self, other)
        return SymInt(value, g, lambda: size_op(g, op, g.sym(x), g.sym(y), value))
    method.__name__ = fn.__name__
    return method


_UNIT = {"Add": 0, "Sub": 0, "Mul": 1, "FloorDiv": 1, "Mod": None}
for _op, _fn in (("Add", int.__add__), ("Sub", int.__sub__), ("Mul", int.__mul__),
                 ("FloorDiv", int.__floordiv__), ("Mod", int.__mod__)):
    _name = _fn.__name__.strip("_")
    setattr(SymInt, f"__{_name}__", _arith(_op, _fn))
    setattr(SymInt, f"__r{_name}__", _arith(_op, _fn, swap=True))


def size_op(g, op, x, y, value):
    """x op y on int64 values: Python's floor division and modulo (ONNX's Div truncates)."""
    if op == "Mod":
        return g.sized("Mod", [x, y], [value], fmod=0)
    if op == "FloorDiv":        # (x - x % y) / y is exact, so truncating does not matter
        rem = g.sized("Mod", [x, y], [g.concrete[x].item() % g.concrete[y].item()], fmod=0)
        return g.sized("Div", [g.sized("Sub", [x, rem], [g.concrete[x].item() -
                                                          g.concrete[rem].item()]), y], [value])
    return g.sized(op, [x, y], [value])


def syms(values):
    """The SymInts among call arguments (in lists, tuples and slices too)."""
    for v in values:
        if isinstance(v, SymInt):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from syms(v)
        elif type(v) is slice:
            yield from syms((v.start, v.stop, v.step))


def plain(value):
    """`value` with its SymInts as ints: what the function itself is called with."""
    if isinstance(value, SymInt):
        return int(value)
    if type(value) in (list, tuple):
        return type(value)(plain(v) for v in value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(plain(v) for v in value))
    if isinstance(value, tuple):
        return type(value)(tuple(plain(v) for v in value))       # torch.Size
    if type(value) is slice:
        return slice(plain(value.start), plain(value.stop), plain(value.step))
    if type(value) is dict:
        return {k: plain(v) for k, v in value.items()}
    return value
