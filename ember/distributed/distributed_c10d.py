"""torch.distributed's process-group registry: init_process_group / destroy_process_group,
new_group, ranks and sizes, and the group lookups the collectives use."""
import os
import socket
import warnings
from datetime import timedelta

from ._group import ProcessGroup
from ._mesh import Mesh
from ._store import TCPStore
from .rendezvous import rendezvous

__all__ = ["Backend", "GroupMember", "group", "init_process_group", "destroy_process_group",
           "is_available", "is_initialized", "is_gloo_available", "is_nccl_available",
           "is_mpi_available", "is_torchelastic_launched", "get_rank", "get_world_size",
           "get_backend", "get_node_local_rank", "get_group_rank", "get_global_rank",
           "get_process_group_ranks", "new_group", "new_subgroups", "new_subgroups_by_enumeration",
           "is_backend_available"]

_DEFAULT_TIMEOUT = timedelta(minutes=30)


class Backend(str):
    """torch.distributed.Backend: lower-case backend names; ember implements "gloo"."""
    UNDEFINED, GLOO, NCCL, UCC, MPI, XCCL = "undefined", "gloo", "nccl", "ucc", "mpi", "xccl"

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError("Backend constructor parameter must be string-ish")
        return str.__new__(cls, getattr(Backend, name.upper(), name.lower()))


class _World:
    def __init__(self):
        self.default_pg, self.store, self.mesh = None, None, None
        self.groups = {}             # ProcessGroup -> {global rank: group rank}
        self.group_count = 0


_world = _World()


class _WorldMeta(type):
    @property
    def WORLD(cls):
        return _world.default_pg


class GroupMember(metaclass=_WorldMeta):
    NON_GROUP_MEMBER = -100


class group(metaclass=_WorldMeta):
    pass


# ---- state ----------------------------------------------------------------------------------
def is_available():
    return True


def is_gloo_available():
    return True


def is_nccl_available():
    return False


def is_mpi_available():
    return False


def is_backend_available(backend):
    """Whether init_process_group takes `backend` ("gloo", or "cpu:gloo"-style maps of it)."""
    names = [b.split(":", 1)[-1] for b in backend.lower().split(",")]
    return all(name == Backend.GLOO for name in names)


def is_initialized():
    return _world.default_pg is not None


def is_torchelastic_launched():
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def get_node_local_rank(fallback_rank=None):
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank "
                       "to allow `get_node_local_rank` to work, assuming you are not running "
                       "in a multi-device context and want the code to run locally instead.")


def _get_default_group():
    if not is_initialized():
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    return _world.default_pg


def _resolve(pg):
    return _get_default_group() if pg is None or pg is GroupMember.WORLD else pg


def _not_in_group(pg, op_name):
    if pg is None or pg != GroupMember.NON_GROUP_MEMBER:
        return False
    global_rank = -1 if _world.default_pg is None else _world.default_pg.rank()
    warnings.warn(f"Running {op_name} on global rank {global_rank} which does not belong to "
                  "the given group.", stacklevel=3)
    return True


def get_rank(group=None):
    if group == GroupMember.NON_GROUP_MEMBER:
        return -1
    rank = _get_default_group().rank()
    return rank if group is None or group is GroupMember.WORLD else get_group_rank(group, rank)


def get_world_size(group=None):
    if group == GroupMember.NON_GROUP_MEMBER:
        return -1
    return _resolve(group).size()


def get_backend(group=None):
    pg = group or _get_default_group()
    if pg == GroupMember.NON_GROUP_MEMBER:
        raise ValueError("Invalid process group specified")
    return Backend(pg.name())


def _registered(pg):
    if pg not in _world.groups:
        raise ValueError(f"Group {pg} is not registered, please create group with "
                         "torch.distributed.new_group API")
    return _world.groups[pg]


def get_group_rank(group, global_rank):
    if group is GroupMember.WORLD:
        return global_rank
    ranks = _registered(group)
    if global_rank not in ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return ranks[global_rank]


def get_global_rank(group, group_rank):
    if group is GroupMember.WORLD:
        return group_rank
    for rank, grp_rank in _registered(group).items():
        if grp_rank == group_rank:
            return rank
    raise ValueError(f"Group rank {group_rank} is not part of group {group}")


def get_process_group_ranks(group):
    return list(_world.groups[group or _get_default_group()])


def _group_rank(pg, global_rank, group_rank):
    """torch's _canonicalize_group_rank: the group rank from either form."""
    if group_rank is not None:
        if global_rank is not None:
            raise ValueError("Can't specify both group_rank and global_rank")
        return group_rank
    if global_rank is None:
        raise ValueError("Must specify global_rank or group_rank")
    return get_group_rank(pg, global_rank)


# ---- init / destroy -------------------------------------------------------------------------
def _check_backend(backend):
    backend = Backend("undefined" if backend is None else backend)
    if backend in (Backend.NCCL, Backend.MPI, Backend.UCC, Backend.XCCL):
        raise RuntimeError(f"Distributed package doesn't have {backend.upper()} built in")
    pairs = dict(p.split(":", 1) for p in backend.split(",")) if ":" in backend else {}
    if backend not in (Backend.GLOO, Backend.UNDEFINED) and pairs.get("cpu") != Backend.GLOO:
        raise AssertionError(f"Unknown backend type {backend}")
    return backend


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the job: rendezvous through `init_method` (default env://) or `store`, then
    connect to every other rank. All ranks must call it."""
    if _world.default_pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None and init_method is not None:
        raise AssertionError("Cannot specify both init_method and store.")
    if store is not None:
        if not world_size > 0:
            raise AssertionError("world_size must be positive if using store")
        if not rank >= 0:
            raise AssertionError("rank must be non-negative if using store")
    elif init_method is None:
        init_method = "env://"
    backend = _check_backend(backend)
    timeout = _DEFAULT_TIMEOUT if timeout is None else timeout
    if not isinstance(timeout, timedelta):
        raise TypeError("Expected timeout argument to be of type datetime.timedelta, got "
                        f"{timeout}")
    if store is None:
        store, rank, world_size = rendezvous(init_method, rank, world_size, timeout=timeout)
    store.set_timeout(timeout)
    mesh = Mesh(store, rank, world_size, timeout, _advertised_host(store))
    pg = ProcessGroup(mesh, range(world_size), 0, backend)
    _world.store, _world.mesh, _world.default_pg = store, mesh, pg
    _world.groups = {pg: {r: r for r in range(world_size)}}
    _world.group_count = 1
    pg.run(pg.barrier, False)     # everyone is connected: the store is no longer read


def _advertised_host(store):
    """The address the other ranks reach this one at."""
    if isinstance(store, TCPStore):
        return store.local_address
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def destroy_process_group(group=None):
    if group == GroupMember.NON_GROUP_MEMBER:
        return
    pg = GroupMember.WORLD if group is None else group
    if pg is None:
        raise AssertionError("Process group cannot be None")
    if pg not in _world.groups:
        raise ValueError("Invalid process group specified")
    if pg is not GroupMember.WORLD:
        del _world.groups[pg]
        pg.shutdown()
        return
    for member in _world.groups:
        member.shutdown()
    _world.mesh.close()
    if hasattr(_world.store, "close"):
        _world.store.close()
    _world.__init__()


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False, group_desc=None, device_id=None):
    """A group of some ranks. Every rank must call it, in the same order, members or not;
    non-members get GroupMember.NON_GROUP_MEMBER."""
    world = _get_default_group()
    size = world.size()
    ranks = sorted(ranks) if ranks else list(range(size))
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"ranks list must not contain duplicate entries, got {ranks}")
    for r in ranks:
        if not 0 <= r < size:
            raise ValueError(f"Rank {r} is out of range. Valid ranks are 0 to {size - 1} "
                             f"(world_size={size})")
    group_id = _world.group_count
    _world.group_count += 1
    if world.rank() not in ranks:
        return GroupMember.NON_GROUP_MEMBER
    pg = ProcessGroup(_world.mesh, ranks, group_id, world.name() if backend is None
                      else _check_backend(backend))
    _world.groups[pg] = {r: i for i, r in enumerate(ranks)}
    return pg


def new_subgroups(group_size=None, group=None, timeout=None, backend=None, pg_options=None,
                  group_desc=None):
    """Split `group` (the world) into consecutive groups of group_size ranks; returns this
    rank's subgroup and the list of all of them."""
    if group_size is None:
        from .. import cuda
        if not cuda.is_available():
            raise ValueError("Default group size only takes effect when CUDA is available.If "
                             "your subgroup using a backend that does not depend on CUDA,please "
                             "pass in 'group_size' correctly.")
        group_size = cuda.device_count()
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    world_size = get_world_size(group=group)
    if world_size < group_size:
        raise ValueError(f"The arg 'group_size' ({group_size}) must not exceed the world size "
                         f"({world_size})")
    if world_size % group_size != 0:
        raise ValueError(f"The world size ({world_size}) must be divisible by '{group_size=}'")
    ranks = get_process_group_ranks(group)
    return new_subgroups_by_enumeration(
        [ranks[i:i + group_size] for i in range(0, len(ranks), group_size)], timeout=timeout,
        backend=backend, pg_options=pg_options, group_desc=group_desc)


def new_subgroups_by_enumeration(ranks_per_subgroup_list, timeout=None, backend=None,
                                 pg_options=None, group_desc=None):
    """One new group per list of ranks; returns this rank's and the list of all of them."""
    if not ranks_per_subgroup_list:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    subgroups, mine, seen = [], None, {}
    for ranks in ranks_per_subgroup_list:
        subgroup = new_group(ranks=ranks, timeout=timeout, backend=backend,
                             pg_options=pg_options, group_desc=group_desc)
        subgroups.append(subgroup)
        for rank in ranks:
            if rank in seen:
                raise ValueError(f"Rank {rank} has appeared in both subgroup {seen[rank]} and "
                                 f"{ranks}")
            seen[rank] = ranks
            if rank == get_rank():
                mine = subgroup
    return mine, subgroups
