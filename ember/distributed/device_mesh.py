"""torch.distributed.device_mesh for one-dimensional meshes: DeviceMesh, init_device_mesh.

A mesh names the global ranks along its dimension and owns the process group they share: the
default group when it spans the whole world, else a new_group of its ranks (which every rank
creates, members or not, as torch does). Meshes of more dimensions are not implemented."""
from .. import arange, int32, is_tensor, tensor
from . import distributed_c10d as c10d

__all__ = ["DeviceMesh", "init_device_mesh"]


def _one_dimensional(ndim):
    if ndim != 1:
        raise NotImplementedError(f"ember's DeviceMesh implements 1-D meshes only, got {ndim} "
                                  "dimensions")


class DeviceMesh:
    """The ranks `mesh` (a 1-D tensor or list of global ranks) on devices of `device_type`;
    builds the mesh's process group unless _init_backend is False."""

    def __init__(self, device_type, mesh, *, mesh_dim_names=None, backend_override=None,
                 _init_backend=True):
        mesh = mesh.detach().cpu().to(dtype=int32).contiguous() if is_tensor(mesh) else \
            tensor(mesh, device="cpu", dtype=int32)
        _one_dimensional(mesh.ndim)
        self._device_type, self._ranks = device_type, tuple(mesh.tolist())
        self._mesh_dim_names = tuple(mesh_dim_names) if mesh_dim_names else None
        if backend_override is not None and len(backend_override) != 1:
            raise ValueError("backend_override should have the same length as the number of "
                             f"mesh dimensions, but got {len(backend_override)} and 1.")
        if device_type != "xla":
            if _init_backend:
                self._dim_groups = self._init_process_group(backend_override)
            self._rank = c10d.get_rank()
            self._coordinate_on_dim = (self._ranks.index(self._rank),) \
                if self._rank in self._ranks else None

    def _init_process_group(self, backend_override):
        """[the mesh's group], or [] on a rank outside the mesh."""
        if not c10d.is_initialized():
            c10d.init_process_group()
        world_size = c10d.get_world_size()
        if len(self._ranks) > world_size:
            raise RuntimeError(f"Mesh should not be bigger than default world size "
                               f"{world_size}, but found {len(self._ranks)} ranks!")
        backend = None if backend_override is None else backend_override[0][0]
        if len(self._ranks) == world_size and backend is None:
            return [c10d._get_default_group()]
        group = c10d.new_group(ranks=list(self._ranks), backend=backend)
        return [] if group == c10d.GroupMember.NON_GROUP_MEMBER else [group]

    @property
    def device_type(self):
        return self._device_type

    @property
    def mesh(self):
        """The mesh's global ranks, an int32 tensor."""
        return tensor(list(self._ranks), dtype=int32)

    @property
    def mesh_dim_names(self):
        return self._mesh_dim_names

    @property
    def ndim(self):
        return 1

    @property
    def shape(self):
        return (len(self._ranks),)

    def size(self, mesh_dim=None):
        return len(self._ranks) if mesh_dim is None else self.shape[mesh_dim]

    def __repr__(self):
        sizes = f"({self._mesh_dim_names[0]}={len(self._ranks)})" if self._mesh_dim_names \
            else f"{self.shape}"
        stride = "((),)" if len(self._ranks) == 1 else "(1,)"   # torch drops size-1 strides
        return f"DeviceMesh({sizes}, '{self._device_type}', stride={stride})"

    def __hash__(self):
        return hash((self._ranks, self._device_type, self._mesh_dim_names))

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, DeviceMesh):
            return False
        return (self._ranks, self._device_type, self._mesh_dim_names) == \
            (other._ranks, other._device_type, other._mesh_dim_names)

    def __getitem__(self, mesh_dim_names):
        """The submesh of the named dimensions: of a 1-D mesh, itself."""
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
        raise KeyError(f"Invalid mesh_dim_names {mesh_dim_names} specified. Mesh dim indices "
                       "should be in ascending order.")

    def _get_mesh_dim_by_name(self, mesh_dim_name):
        if not self._mesh_dim_names:
            raise KeyError("No `mesh_dim_names` found.")
        if mesh_dim_name not in self._mesh_dim_names:
            raise KeyError(f"Mesh dimension '{mesh_dim_name}' does not exist.",
                           f"Available mesh dimensions are: mesh_dim_names="
                           f"{self._mesh_dim_names}")
        return self._mesh_dim_names.index(mesh_dim_name)

    def get_group(self, mesh_dim=None):
        """The process group of dimension mesh_dim (a name or an index; the only one if None)."""
        if not hasattr(self, "_dim_groups"):
            raise RuntimeError("DeviceMesh process groups not initialized!")
        if mesh_dim is None:
            return self._dim_groups[0]
        if isinstance(mesh_dim, str):
            mesh_dim = self._get_mesh_dim_by_name(mesh_dim)
        return self._dim_groups[mesh_dim]

    def get_all_groups(self):
        return [self.get_group(0)]

    def get_rank(self):
        """This process's global rank."""
        return c10d.get_rank()

    def get_local_rank(self, mesh_dim=None):
        """This process's rank in the group of dimension mesh_dim."""
        return c10d.get_rank(self.get_group(0 if mesh_dim is None else mesh_dim))

    def get_coordinate(self):
        """This rank's index along the mesh, as a tuple; None outside the mesh."""
        return self._coordinate_on_dim


def init_device_mesh(device_type, mesh_shape, *, mesh_dim_names=None, backend_override=None):
    """A mesh of the global ranks 0 .. prod(mesh_shape) - 1 (initialising the default process
    group first if needed). Every rank must call it with the same arguments."""
    if mesh_dim_names is not None:
        if len(set(mesh_dim_names)) != len(mesh_dim_names):
            raise RuntimeError("Each mesh_dim_name must be unique. Found repeated mesh_dim_name "
                               f"in mesh_dim_names {mesh_dim_names}")
        if len(mesh_shape) != len(mesh_dim_names):
            raise RuntimeError("mesh_shape and mesh_dim_names should have same length! Found "
                               f"len(mesh_dim_names): {len(mesh_dim_names)} and "
                               f"len(mesh_shape):{len(mesh_shape)}.")
    if backend_override is not None:        # {dim or name: backend or (backend, options)}
        backend_override = tuple((v, None) if isinstance(v, str) else v
                                 for v in backend_override.values())
    if device_type and not device_type.isalpha():
        raise RuntimeError(f"Device type with index is not supported but got {device_type}. ",
                           "If you maintained a 'torch.device' object, it's recommended to pass "
                           "in 'device.type'.")
    mesh_shape = tuple(mesh_shape)
    _one_dimensional(len(mesh_shape))
    return DeviceMesh(device_type, arange(mesh_shape[0], dtype=int32),
                      mesh_dim_names=mesh_dim_names, backend_override=backend_override)
