"""The weights-only unpickler: an opcode interpreter whose GLOBALs resolve through an allowlist.

Pickle is a stack machine whose GLOBAL opcode imports any `module.name` and whose REDUCE, NEWOBJ
and BUILD opcodes call what is on the stack, so loading an untrusted pickle can run any code.
Like `torch/_weights_only_unpickler.py`, this interpreter never imports anything: a GLOBAL is
looked up in a short allowlist of ember objects (tensor rebuild functions, storages, dtypes,
containers) plus what the user registers with `add_safe_globals`; REDUCE and NEWOBJ call only
allowlisted objects; APPEND, SETITEM and BUILD act only on the container types they were made
for. Denylists keep being bypassed (fickling#210), which is why there is none beyond torch's
four always-blocked modules."""
import codecs
import pickle
import struct
from collections import Counter, OrderedDict
from pickle import UnpicklingError

from . import _rebuild
from ._allowlist import (BLOCKED_MODULES, parameter_new, refuse_global, user_table,
                         default_globals, map_name)
from ._errors import EmberLoadError


# ---- the interpreter -----------------------------------------------------------------------

class Buffer:
    """Bytes read as a file: bounds-checked reads, no copies of what follows.

    `WeightsUnpickler` reads `data` itself from `pos` and leaves `pos` after the pickle's STOP
    (a legacy file is several pickles in a row); `pickle.Unpickler` calls the methods."""
    __slots__ = ("data", "pos", "end")

    def __init__(self, data, pos=0):
        self.data, self.pos, self.end = bytes(data), pos, len(data)

    def read(self, n=-1):
        start = self.pos
        stop = self.end if n < 0 else min(start + n, self.end)
        self.pos = stop
        return self.data[start:stop]

    def readline(self):
        i = self.data.find(b"\n", self.pos, self.end)
        stop = self.end if i < 0 else i + 1
        line, self.pos = self.data[self.pos:stop], stop
        return line

    def peek(self, n=1):
        return self.data[self.pos:self.pos + n]


def _truncated():
    return EmberLoadError("corrupt checkpoint: the pickle data is truncated")


def _negative():
    return EmberLoadError("corrupt checkpoint: negative length in the pickle")


class WeightsUnpickler:
    """Reads one pickle from a Buffer, admitting only allowlisted globals and operations.

    The opcode handlers (`_OPS`) read the pickle's bytes from `data` at `pos` themselves:
    loading a state_dict is some 30 opcodes a tensor, so each is a list lookup and one call."""

    def __init__(self, buffer, persistent_load, encoding="utf-8"):
        self.buffer, self.data, self.pos, self.end = buffer, buffer.data, buffer.pos, buffer.end
        self.persistent_load, self.encoding = persistent_load, encoding
        users = user_table()
        self.allowed = {**default_globals(), **users}
        self.user_types = tuple(v for v in users.values() if isinstance(v, type))
        # torch.Tensor is allowed as an argument, never as a callee: `torch.Tensor(10**10)`
        # would allocate at will (storage types and dtypes are not callable at all)
        self.callable_ids = {id(v) for k, v in self.allowed.items()
                             if callable(v) and k != "torch.Tensor"}
        self.newobj_ids = {id(c) for c in (OrderedDict, Counter, set, frozenset,
                                           self.allowed["torch.Size"])}
        self.newobj_ids.update(id(c) for c in self.user_types)
        self.stack, self.metastack, self.memo = [], [], {}

    def load(self):
        ops, data, end = _DISPATCH, self.data, self.end
        while True:
            pos = self.pos
            if pos >= end:
                raise _truncated()
            self.pos = pos + 1
            if ops[data[pos]](self):
                self.buffer.pos = self.pos
                return self.stack.pop()

    # -- reading helpers
    def take(self, n):
        """The next `n` bytes (a corrupt length is refused, never read as a slice bound)."""
        pos = self.pos
        stop = pos + n
        if n < 0:
            raise _negative()
        if stop > self.end:
            raise _truncated()
        self.pos = stop
        return self.data[pos:stop]

    def unpack(self, fmt):
        """The next value of the struct.Struct `fmt`."""
        pos = self.pos
        stop = pos + fmt.size
        if stop > self.end:
            raise _truncated()
        self.pos = stop
        return fmt.unpack_from(self.data, pos)[0]

    def line(self):
        i = self.data.find(b"\n", self.pos, self.end)
        if i < 0:
            raise _truncated()
        line, self.pos = self.data[self.pos:i], i + 1
        return line

    def push(self, value):
        self.stack.append(value)

    def pop_mark(self):
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def decode(self, data):
        return data if self.encoding == "bytes" else data.decode(self.encoding, "strict")

    # -- globals and calls
    def find_global(self, module, name):
        module, name = map_name(module, name)
        full = f"{module}.{name}"
        if module not in BLOCKED_MODULES and full in self.allowed:
            return self.allowed[full]
        raise refuse_global(module, name)

    def call(self, func, args):
        if id(func) not in self.callable_ids:
            msg = f"Trying to call reduce for unrecognized function {func}"
            if hasattr(func, "__self__"):
                msg += f" which belongs to {func.__self__}"
            raise UnpicklingError(msg)
        if type(args) is not tuple:
            raise EmberLoadError("corrupt checkpoint: REDUCE arguments are not a tuple")
        return func(*args)

    def new_object(self, cls, args, kwargs):
        if cls is parameter_new:
            return parameter_new(*args, **kwargs)
        if cls is _rebuild.DimRange and not args and not kwargs:   # (in jagged tensors' state)
            return cls()
        if id(cls) not in self.newobj_ids:
            raise UnpicklingError("Can only create new object for nn.Parameter or classes "
                                  f"allowlisted via `add_safe_globals` but got {cls}")
        if type(args) is not tuple or type(kwargs) is not dict:
            raise EmberLoadError("corrupt checkpoint: NEWOBJ arguments are malformed")
        return cls.__new__(cls, *args, **kwargs)

    def build(self, inst, state):
        from .._tensor import Tensor
        if type(inst) is OrderedDict and type(state) is dict:
            inst.__dict__.update(state)         # e.g. a state_dict's `_metadata`
        elif isinstance(inst, Tensor):
            _rebuild.set_state(inst, state)
        elif type(inst) is _rebuild.DimRange:
            inst.__setstate__(state)
        elif self.user_types and type(inst) in self.user_types:
            setstate = getattr(inst, "__setstate__", None)
            if setstate is not None and not isinstance(inst, type):
                setstate(state)
                return
            slotstate = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slotstate = state
            if state:
                inst.__dict__.update(state)
            for k, v in (slotstate or {}).items():
                setattr(inst, k, v)
        else:
            raise UnpicklingError("Can only build Tensor, Parameter, OrderedDict or types "
                                  f"allowlisted via `add_safe_globals`, but got {type(inst)}")


def _set_target(u, opcode):
    target = u.stack[-1]
    if type(target) not in (dict, OrderedDict, Counter):
        raise UnpicklingError(f"Can only {opcode} for dict, collections.OrderedDict, "
                              f"collections.Counter, but got {type(target)}")
    return target


def _op_proto(u):
    proto = _op_byte(u)
    if proto > pickle.HIGHEST_PROTOCOL:
        raise EmberLoadError(f"corrupt checkpoint: unsupported pickle protocol {proto}")


def _op_stop(u):
    if len(u.stack) != 1 or u.metastack:
        raise EmberLoadError("corrupt checkpoint: the pickle stack is unbalanced at STOP")
    return True


def _op_pop(u):
    if u.stack:
        u.stack.pop()
    else:
        u.pop_mark()


def _op_mark(u):
    u.metastack.append(u.stack)
    u.stack = []


def _op_global(u):
    module, name = u.line().decode("utf-8"), u.line().decode("utf-8")
    u.stack.append(u.find_global(module, name))


def _op_stack_global(u):
    name, module = u.stack.pop(), u.stack.pop()
    if type(name) is not str or type(module) is not str:
        raise UnpicklingError("STACK_GLOBAL requires str")
    u.push(u.find_global(module, name))


def _op_reduce(u):
    args = u.stack.pop()
    u.stack[-1] = u.call(u.stack[-1], args)


def _op_newobj(u):
    args = u.stack.pop()
    u.stack[-1] = u.new_object(u.stack[-1], args, {})


def _op_newobj_ex(u):
    kwargs, args = u.stack.pop(), u.stack.pop()
    u.stack[-1] = u.new_object(u.stack[-1], args, kwargs)


def _op_build(u):
    state = u.stack.pop()
    u.build(u.stack[-1], state)


def _op_append(u):
    item = u.stack.pop()
    if type(u.stack[-1]) is not list:
        raise UnpicklingError(f"Can only append to lists, but got {type(u.stack[-1])}")
    u.stack[-1].append(item)


def _op_appends(u):
    items = u.pop_mark()
    if type(u.stack[-1]) is not list:
        raise UnpicklingError(f"Can only extend lists, but got {type(u.stack[-1])}")
    u.stack[-1].extend(items)


def _op_setitem(u):
    value, key = u.stack.pop(), u.stack.pop()
    _set_target(u, "SETITEM")[key] = value


def _op_setitems(u):
    items = u.pop_mark()
    target = _set_target(u, "SETITEMS")
    if len(items) % 2:
        raise EmberLoadError("corrupt checkpoint: odd number of SETITEMS items")
    for i in range(0, len(items), 2):
        target[items[i]] = items[i + 1]


def _op_additems(u):
    items = u.pop_mark()
    if type(u.stack[-1]) is not set:
        raise UnpicklingError(f"Can only add items to sets, but got {type(u.stack[-1])}")
    u.stack[-1].update(items)


def _op_dict(u):
    items = u.pop_mark()
    if len(items) % 2:
        raise EmberLoadError("corrupt checkpoint: odd number of DICT items")
    u.push({items[i]: items[i + 1] for i in range(0, len(items), 2)})


def _op_binpersid(u):
    pid = u.stack.pop()
    if type(pid) is not tuple and type(pid) is not int:
        raise UnpicklingError(f"persistent_load id must be tuple or int, but got {type(pid)}")
    if type(pid) is tuple and (not pid or pid[0] not in ("storage", b"storage")):
        raise UnpicklingError("Only persistent_load of storage is allowed, but got "
                              f"{type(pid[0]) if pid else 'an empty tuple'}")
    u.push(u.persistent_load(pid))


def _op_get(u, index):
    if index not in u.memo:
        raise EmberLoadError(f"corrupt checkpoint: memo value not found at index {index}")
    u.stack.append(u.memo[index])


def _op_put(u, index):
    if index < 0:
        raise EmberLoadError("corrupt checkpoint: negative memo index")
    u.memo[index] = u.stack[-1]


def _text_int(u):
    data = u.line()
    if data in (b"00", b"01"):
        return data == b"01"
    return int(data)


def _string(u):
    data = u.line().rstrip()
    if len(data) < 2 or data[0] != data[-1] or data[:1] not in b"\"'":
        raise EmberLoadError("corrupt checkpoint: the STRING opcode argument must be quoted")
    return u.decode(codecs.escape_decode(data[1:-1])[0])


def _long4(u):
    n = u.unpack(_I4)
    if n < 0:
        raise EmberLoadError("corrupt checkpoint: LONG pickle has negative byte count")
    return pickle.decode_long(u.take(n))


def _sized(fmt, convert):
    """An opcode whose argument is a length (struct `fmt`) and that many bytes."""
    def op(u):
        u.stack.append(convert(u, u.take(u.unpack(fmt))))      # (take refuses n < 0)
    return op


def _push(fn):
    def op(u):
        value = fn(u)               # (first: fn may swap the stack, as pop_mark does)
        u.stack.append(value)
    return op


def _utf8(u, data):
    return str(data, "utf-8", "surrogatepass")


_I4, _U1, _U2, _U4, _U8, _F8 = (struct.Struct(f) for f in ("<i", "<B", "<H", "<I", "<Q", ">d"))


# -- the opcodes a state_dict is made of, each reading its argument in place

def _op_byte(u):
    """The next byte's value (BININT1, BINGET and BINPUT's argument)."""
    pos = u.pos
    if pos >= u.end:
        raise _truncated()
    u.pos = pos + 1
    return u.data[pos]


def _op_binget(u):
    index = _op_byte(u)
    memo = u.memo
    if index not in memo:
        raise EmberLoadError(f"corrupt checkpoint: memo value not found at index {index}")
    u.stack.append(memo[index])


def _op_binput(u):
    u.memo[_op_byte(u)] = u.stack[-1]


def _op_long_binput(u):
    u.memo[u.unpack(_U4)] = u.stack[-1]


def _op_binint1(u):
    u.stack.append(_op_byte(u))


def _op_binint2(u):
    u.stack.append(u.unpack(_U2))


def _op_binunicode(u):
    u.stack.append(str(u.take(u.unpack(_U4)), "utf-8", "surrogatepass"))


def _op_short_binunicode(u):
    u.stack.append(str(u.take(_op_byte(u)), "utf-8", "surrogatepass"))


def _op_tuple(u):
    items = u.stack
    u.stack = u.metastack.pop()
    u.stack.append(tuple(items))


def _op_tuple1(u):
    stack = u.stack
    stack[-1] = (stack[-1],)


def _op_tuple2(u):
    stack = u.stack
    stack[-2:] = [tuple(stack[-2:])]


def _op_tuple3(u):
    stack = u.stack
    stack[-3:] = [tuple(stack[-3:])]


def _unsupported(u):
    code = u.data[u.pos - 1]
    raise UnpicklingError(f"Unsupported operand {code} ({_OPNAMES.get(code, 'unknown opcode')})")


_OPS = {
    0x80: _op_proto, 0x95: lambda u: u.take(8) and None, ord("."): _op_stop,
    ord("("): _op_mark, ord("0"): _op_pop, ord("1"): lambda u: u.pop_mark() and None,
    ord("2"): lambda u: u.stack.append(u.stack[-1]),
    ord("c"): _op_global, 0x93: _op_stack_global, ord("R"): _op_reduce, 0x81: _op_newobj,
    0x92: _op_newobj_ex, ord("b"): _op_build, ord("Q"): _op_binpersid,
    ord("a"): _op_append, ord("e"): _op_appends, ord("s"): _op_setitem,
    ord("u"): _op_setitems, 0x90: _op_additems, ord("d"): _op_dict,
    ord("N"): lambda u: u.stack.append(None), 0x88: lambda u: u.stack.append(True),
    0x89: lambda u: u.stack.append(False),
    ord("I"): _push(_text_int), ord("J"): _push(lambda u: u.unpack(_I4)),
    ord("K"): _op_binint1, ord("M"): _op_binint2,
    ord("L"): _push(lambda u: int(u.line().rstrip(b"L"))),
    0x8A: _push(lambda u: pickle.decode_long(u.take(_op_byte(u)))), 0x8B: _push(_long4),
    ord("F"): _push(lambda u: float(u.line())), ord("G"): _push(lambda u: u.unpack(_F8)),
    ord("S"): _push(_string), ord("T"): _sized(_I4, lambda u, d: u.decode(d)),
    ord("U"): _sized(_U1, lambda u, d: u.decode(d)),
    ord("V"): _push(lambda u: codecs.raw_unicode_escape_decode(u.line())[0]),
    ord("X"): _op_binunicode, 0x8C: _op_short_binunicode, 0x8D: _sized(_U8, _utf8),
    ord("B"): _sized(_U4, lambda u, d: d), ord("C"): _sized(_U1, lambda u, d: d),
    0x8E: _sized(_U8, lambda u, d: d), 0x96: _sized(_U8, lambda u, d: bytearray(d)),
    ord(")"): lambda u: u.stack.append(()), ord("t"): _op_tuple,
    0x85: _op_tuple1, 0x86: _op_tuple2, 0x87: _op_tuple3,
    ord("]"): lambda u: u.stack.append([]), ord("l"): _push(lambda u: u.pop_mark()),
    ord("}"): lambda u: u.stack.append({}), 0x8F: lambda u: u.stack.append(set()),
    0x91: _push(lambda u: frozenset(u.pop_mark())),
    ord("g"): lambda u: _op_get(u, int(u.line())), ord("h"): _op_binget,
    ord("j"): lambda u: _op_get(u, u.unpack(_U4)),
    ord("p"): lambda u: _op_put(u, int(u.line())), ord("q"): _op_binput,
    ord("r"): _op_long_binput, 0x94: lambda u: _op_put(u, len(u.memo)),
}
# the interpreter's table: opcode byte -> handler (true when the pickle ends)
_DISPATCH = [_OPS.get(code, _unsupported) for code in range(256)]
_OPNAMES = {op.code.encode("latin-1")[0]: op.name for op in __import__("pickletools").opcodes}
# errors a corrupt pickle raises inside the interpreter (stack underflow, bad types, ...)
CORRUPTION = (IndexError, KeyError, TypeError, ValueError, AttributeError, struct.error,
              OverflowError, UnicodeError, EOFError)


def unsafe_globals(data):
    """Globals named in the pickle `data` that a weights-only load would refuse."""
    import pickletools
    allowed = {**default_globals(), **user_table()}
    found, strings = set(), []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name in ("GLOBAL", "INST"):
                module, name = arg.split(" ", 1)
                found.add("{}.{}".format(*map_name(module, name)))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.add("{}.{}".format(*map_name(strings[-2], strings[-1])))
            elif isinstance(arg, str) and "UNICODE" in op.name:
                strings.append(arg)
    except (ValueError, EOFError, UnicodeDecodeError) as e:
        raise EmberLoadError(f"corrupt checkpoint: {e}") from None
    return sorted(g for g in found if g not in allowed or g.split(".")[0] in BLOCKED_MODULES)
