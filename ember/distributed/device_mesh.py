"""torch.distributed.device_mesh: DeviceMesh and init_device_mesh on CPU.

A mesh is an n-dimensional array of global ranks. Along each dimension the ranks that differ
only in that coordinate form a process group: the default group when one spans the whole
world, else a new_group (which every rank creates, members or not, in the same order, as
torch does). Slicing a mesh by dimension names gives the submesh through this rank, which
shares the root mesh's groups. Flattening and unflattening dimensions are not implemented."""
import numpy as np

from .. import int32, is_tensor, tensor
from . import distributed_c10d as c10d

__all__ = ["DeviceMesh", "init_device_mesh"]

_NEEDS_MESH_DIM = "Optional kwarg `mesh_dim` needs to be specified when device_mesh.ndim > 1."


class DeviceMesh:
    """The global ranks `mesh` (a tensor or nested lists) on devices of `device_type`, with
    optional names for its dimensions; builds one process group per dimension unless
    _init_backend is False."""

    def __init__(self, device_type, mesh, *, mesh_dim_names=None, backend_override=None,
                 _init_backend=True, _root=None, _dims=None):
        mesh = mesh.detach().cpu().to(dtype=int32).contiguous() if is_tensor(mesh) else \
            tensor(mesh, device="cpu", dtype=int32)
        self._device_type, self._mesh = device_type, np.asarray(mesh.tolist(), np.int64)
        self._mesh_dim_names = tuple(mesh_dim_names) if mesh_dim_names else None
        self._root = _root                  # the mesh this one was sliced from
        self._dims = _dims if _dims is not None else tuple(range(self._mesh.ndim))
        if backend_override is not None and len(backend_override) != self._mesh.ndim:
            raise ValueError("backend_override should have the same length as the number of "
                             f"mesh dimensions, but got {len(backend_override)} and "
                             f"{self._mesh.ndim}.")
        if device_type != "xla":
            if _root is not None:           # (none on a rank outside the root mesh)
                self._dim_groups = [_root._dim_groups[d] for d in self._dims] \
                    if _root._dim_groups else []
            elif _init_backend:
                self._dim_groups = self._init_process_groups(backend_override)
            self._rank = c10d.get_rank()
            where = np.argwhere(self._mesh == self._rank)
            self._coordinate_on_dim = tuple(int(i) for i in where[0]) if len(where) else None

    def _init_process_groups(self, backend_override):
        """Per dimension, the group of this rank's line along it (None outside the mesh)."""
        if not c10d.is_initialized():
            c10d.init_process_group()
        world_size = c10d.get_world_size()
        if self._mesh.size > world_size:
            raise RuntimeError(f"Mesh should not be bigger than default world size "
                               f"{world_size}, but found {self._mesh.size} ranks!")
        groups = []
        for dim in range(self._mesh.ndim):
            backend = None if backend_override is None else backend_override[dim][0]
            if self._mesh.shape[dim] == world_size and backend is None:
                groups.append(c10d._get_default_group())
                continue
            mine = None
            lines = np.moveaxis(self._mesh, dim, -1).reshape(-1, self._mesh.shape[dim])
            for line in lines.tolist():
                group = c10d.new_group(ranks=line, backend=backend)
                if group != c10d.GroupMember.NON_GROUP_MEMBER:
                    mine = group
            groups.append(mine)
        return groups if all(g is not None for g in groups) else []

    @property
    def device_type(self):
        return self._device_type

    @property
    def mesh(self):
        """The mesh's global ranks, an int32 tensor."""
        return tensor(self._mesh.tolist(), dtype=int32)

    @property
    def mesh_dim_names(self):
        return self._mesh_dim_names

    @property
    def ndim(self):
        return self._mesh.ndim

    @property
    def shape(self):
        return tuple(self._mesh.shape)

    def size(self, mesh_dim=None):
        return self._mesh.size if mesh_dim is None else self.shape[mesh_dim]

    def _strides(self):
        """The root mesh's row-major strides of this mesh's dimensions (torch prints () for a
        dimension of size 1)."""
        root = self._root or self
        strides = [int(np.prod(root._mesh.shape[d + 1:])) for d in range(root._mesh.ndim)]
        return tuple(() if root._mesh.shape[d] == 1 else strides[d] for d in self._dims)

    def __repr__(self):
        sizes = "(" + ", ".join(f"{k}={v}" for k, v in zip(self._mesh_dim_names, self.shape)) \
            + ")" if self._mesh_dim_names else f"{self.shape}"
        return f"DeviceMesh({sizes}, '{self._device_type}', stride={self._strides()})"

    def _key(self):
        return (tuple(self._mesh.reshape(-1).tolist()), self.shape, self._strides(),
                self._device_type, self._mesh_dim_names)

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        if self is other:
            return True
        return isinstance(other, DeviceMesh) and self._key() == other._key()

    def __getitem__(self, mesh_dim_names):
        """The submesh through this rank along the named dimensions, in the order given."""
        if not self._mesh_dim_names:
            raise RuntimeError("Cannot slice a DeviceMesh without mesh_dim_names!")
        if isinstance(mesh_dim_names, str):
            mesh_dim_names = (mesh_dim_names,)
        if mesh_dim_names == self._mesh_dim_names:
            return self
        valid = list(self._mesh_dim_names)
        if not all(name in valid for name in mesh_dim_names):
            raise KeyError(f"Invalid mesh_dim_names {mesh_dim_names} specified. Valid "
                           f"mesh_dim_names are {valid}.")
        dims = [valid.index(name) for name in mesh_dim_names]
        sized = [d for d in dims if self.shape[d] > 1]     # size-1 dimensions may go anywhere
        if sized != sorted(set(sized)):
            raise KeyError(f"Invalid mesh_dim_names {mesh_dim_names} specified. Mesh dim "
                           "indices should be in ascending order.")
        coordinate = self._coordinate_on_dim
        if coordinate is None:              # outside the mesh: only a unique submesh is known
            if any(self.shape[d] > 1 for d in range(self.ndim) if d not in dims):
                raise RuntimeError("In order to get the mesh Tensor of a DeviceMesh it needs "
                                   "to either have all its original dimensions (e.g., no "
                                   "slicing) or it needs to contain the local rank")
            coordinate = (0,) * self.ndim
        index = tuple(slice(None) if d in dims else coordinate[d] for d in range(self.ndim))
        kept = [d for d in range(self.ndim) if d in dims]      # the order numpy keeps
        sub = np.transpose(self._mesh[index], [kept.index(d) for d in dims])
        return DeviceMesh(self._device_type, sub.tolist(), mesh_dim_names=mesh_dim_names,
                          _root=self._root or self,
                          _dims=tuple(self._dims[d] for d in dims))

    def _get_mesh_dim_by_name(self, mesh_dim_name):
        if not self._mesh_dim_names:
            raise KeyError("No `mesh_dim_names` found.")
        if mesh_dim_name not in self._mesh_dim_names:
            raise KeyError(f"Mesh dimension '{mesh_dim_name}' does not exist.",
                           f"Available mesh dimensions are: mesh_dim_names="
                           f"{self._mesh_dim_names}")
        return self._mesh_dim_names.index(mesh_dim_name)

    def get_group(self, mesh_dim=None):
        """The process group of dimension mesh_dim (a name or an index; required when the
        mesh has more than one dimension)."""
        if not hasattr(self, "_dim_groups"):
            raise RuntimeError("DeviceMesh process groups not initialized!")
        if self.ndim > 1 and mesh_dim is None:
            raise RuntimeError(f"Found the DeviceMesh have {self.ndim} dimensions",
                               _NEEDS_MESH_DIM, "If you want to get the list of all the "
                               "ProcessGroups in the DeviceMesh,please use `get_all_groups()` "
                               "instead.")
        if mesh_dim is None:
            return self._dim_groups[0]
        if isinstance(mesh_dim, str):
            mesh_dim = self._get_mesh_dim_by_name(mesh_dim)
        return self._dim_groups[mesh_dim]

    def get_all_groups(self):
        return [self.get_group(i) for i in range(self.ndim)]

    def get_rank(self):
        """This process's global rank."""
        return c10d.get_rank()

    def get_local_rank(self, mesh_dim=None):
        """This process's rank in the group of dimension mesh_dim."""
        if self.ndim > 1 and mesh_dim is None:
            raise RuntimeError(f"Found the DeviceMesh have {self.ndim} dimensions",
                               _NEEDS_MESH_DIM)
        return c10d.get_rank(self.get_group(0 if mesh_dim is None else mesh_dim))

    def get_coordinate(self):
        """This rank's indices in the mesh, a tuple; None outside it."""
        return self._coordinate_on_dim


def init_device_mesh(device_type, mesh_shape, *, mesh_dim_names=None, backend_override=None):
    """A mesh of shape mesh_shape over the global ranks 0 .. prod(mesh_shape) - 1 in row-major
    order (initialising the default process group first if needed). Every rank must call it
    with the same arguments."""
    if mesh_dim_names is not None:
        if len(set(mesh_dim_names)) != len(mesh_dim_names):
            raise RuntimeError("Each mesh_dim_name must be unique. Found repeated mesh_dim_name "
                               f"in mesh_dim_names {mesh_dim_names}")
        if len(mesh_shape) != len(mesh_dim_names):
            raise RuntimeError("mesh_shape and mesh_dim_names should have same length! Found "
                               f"len(mesh_dim_names): {len(mesh_dim_names)} and "
                               f"len(mesh_shape):{len(mesh_shape)}.")
    if backend_override is not None:        # {dim or name: backend or (backend, options)}
        names = list(mesh_dim_names or ())
        by_dim = {names.index(k) if isinstance(k, str) else k:
                  (v, None) if isinstance(v, str) else v for k, v in backend_override.items()}
        backend_override = tuple(by_dim.get(d, (None, None)) for d in range(len(mesh_shape)))
    if device_type and not device_type.isalpha():
        raise RuntimeError(f"Device type with index is not supported but got {device_type}. ",
                           "If you maintained a 'torch.device' object, it's recommended to pass "
                           "in 'device.type'.")
    mesh_shape = tuple(mesh_shape)
    return DeviceMesh(device_type, np.arange(int(np.prod(mesh_shape))).reshape(mesh_shape)
                      .tolist(), mesh_dim_names=mesh_dim_names,
                      backend_override=backend_override)
