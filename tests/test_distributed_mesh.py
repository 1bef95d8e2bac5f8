"""torch.distributed.device_mesh (DeviceMesh, init_device_mesh, DDP's device_mesh) against
torch's: one program runs on 4 ranks under ember and under torch with gloo; every observable
(repr, groups, ranks, sizes, names, slicing, errors, a collective over the mesh's group) of
1-D, 2-D and 3-D meshes, of the whole world or of some ranks, must be the same."""
import pytest

from dist_oracle import run_both

PROGRAM = """
import {lib} as torch
import {lib}.distributed as dist
from {lib}.distributed.device_mesh import DeviceMesh, init_device_mesh
from {lib}.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
rank = dist.get_rank()


def result(fn):
    try:
        value = fn()
    except Exception as e:
        return type(e).__name__, str(e)
    if isinstance(value, dist.ProcessGroup):
        return "group", dist.get_process_group_ranks(value), value is dist.group.WORLD
    if torch.is_tensor(value):
        return "tensor", str(value.dtype), value.tolist()
    return "value", repr(value) if isinstance(value, DeviceMesh) else value


mesh = init_device_mesh("cpu", (4,), mesh_dim_names=("dp",))
unnamed = DeviceMesh("cpu", [0, 1, 2, 3])
one = DeviceMesh("cpu", [1])                      # the other ranks are outside it
checks = {
    "repr": lambda: (repr(mesh), str(mesh), repr(unnamed), repr(one)),
    "group": lambda: mesh.get_group(),
    "group_by_index": lambda: mesh.get_group(0) is mesh.get_group(),
    "group_by_name": lambda: mesh.get_group("dp") is mesh.get_group(),
    "all_groups": lambda: [dist.get_process_group_ranks(g) for g in mesh.get_all_groups()],
    "sizes": lambda: (mesh.size(), mesh.size(0), mesh.ndim, mesh.shape, one.size()),
    "ranks": lambda: (mesh.get_rank(), mesh.get_local_rank(), mesh.get_local_rank("dp"),
                      mesh.get_coordinate(), one.get_coordinate()),
    "one_local_rank": lambda: one.get_local_rank() if rank == 1 else None,
    "one_group": lambda: one.get_group(),
    "names": lambda: (mesh.mesh_dim_names, unnamed.mesh_dim_names, mesh.device_type),
    "mesh": lambda: mesh.mesh,
    "list_mesh": lambda: one.mesh,
    "tensor_mesh": lambda: DeviceMesh("cpu", torch.tensor([0, 1, 2, 3])).mesh,
    "slice": lambda: mesh["dp"] is mesh and mesh[("dp",)] is mesh,
    "equal": lambda: (mesh == init_device_mesh("cpu", (4,), mesh_dim_names=("dp",)),
                      hash(mesh) == hash(DeviceMesh("cpu", [0, 1, 2, 3],
                                                    mesh_dim_names=("dp",))),
                      mesh == unnamed, mesh == 3),
    "slice_bad_name": lambda: mesh["tp"],
    "slice_by_int": lambda: mesh[0],
    "slice_unnamed": lambda: unnamed["dp"],
    "group_bad_name": lambda: mesh.get_group("tp"),
    "group_bad_index": lambda: mesh.get_group(1),
    "size_bad_index": lambda: mesh.size(1),
    "too_big": lambda: init_device_mesh("cpu", (5,)),
    "names_length": lambda: init_device_mesh("cpu", (4,), mesh_dim_names=("a", "b")),
    "names_repeated": lambda: init_device_mesh("cpu", (2, 2), mesh_dim_names=("a", "a")),
    "int_shape": lambda: init_device_mesh("cpu", 4),
    "device_index": lambda: init_device_mesh("cuda:0", (4,)),
    "uninitialised": lambda: DeviceMesh("cpu", [0, 1, 2, 3], _init_backend=False).get_group(),
    "ddp_both": lambda: DDP(torch.nn.Linear(2, 2), process_group=mesh.get_group(),
                            device_mesh=mesh),
}
out = {}
for shape in [(1, 4), (4, 1), (2, 2), (1, 2)]:      # (1, 2): ranks 2 and 3 outside
    m2 = init_device_mesh("cpu", shape, mesh_dim_names=("dp", "tp"))
    u2 = init_device_mesh("cpu", shape)
    out.update({f"{shape}_{name}": result(fn) for name, fn in {
        "repr": lambda: (repr(m2), repr(u2)), "mesh": lambda: m2.mesh,
        "group": lambda: m2.get_group(), "group0": lambda: m2.get_group(0),
        "group1": lambda: m2.get_group(1), "group_tp": lambda: m2.get_group("tp"),
        "all_groups": lambda: [dist.get_process_group_ranks(g) for g in m2.get_all_groups()],
        "local_rank": lambda: m2.get_local_rank(),
        "local_ranks": lambda: (m2.get_local_rank(0), m2.get_local_rank("tp")),
        "geometry": lambda: (m2.get_coordinate(), m2.size(), m2.size(1), m2.shape, m2.ndim),
        "tp": lambda: (repr(m2["tp"]), m2["tp"].mesh.tolist(), m2["tp"].get_coordinate(),
                       m2["tp"].size(), m2["tp"].mesh_dim_names, m2["tp"] == m2["tp"]),
        "dp": lambda: (repr(m2["dp"]), m2["dp"].mesh.tolist(), m2["dp"].get_local_rank()),
        "tp_group": lambda: m2["tp"].get_group(), "dp_group": lambda: m2["dp"].get_group(),
        "both": lambda: m2["dp", "tp"] is m2, "swapped": lambda: repr(m2["tp", "dp"]),
        "twice": lambda: repr(m2["dp"]["dp"]), "sub_bad": lambda: m2["tp"]["dp"],
        "unnamed_group1": lambda: u2.get_group(1),
    }.items()})
m3 = init_device_mesh("cpu", (2, 1, 2), mesh_dim_names=("a", "b", "c"))
permuted = DeviceMesh("cpu", [[3, 1], [2, 0]], mesh_dim_names=("x", "y"))
checks.update({
    "3d": lambda: (repr(m3), repr(m3["a", "c"]), m3["a", "c"].mesh.tolist(),
                   repr(m3["c", "b"]), m3["c", "b"].mesh.tolist()),
    "3d_descending": lambda: m3["c", "a"],
    "3d_groups": lambda: [dist.get_process_group_ranks(g) for g in m3.get_all_groups()],
    "permuted": lambda: (repr(permuted), permuted.get_coordinate(), permuted.get_local_rank("x"),
                         permuted.get_local_rank("y"), permuted["y"].mesh.tolist()),
    "permuted_groups": lambda: [dist.get_process_group_ranks(g)
                                for g in permuted.get_all_groups()],
})
out.update({name: result(fn) for name, fn in checks.items()})

t = torch.ones(2) * (rank + 1)
dist.all_reduce(t, group=mesh.get_group())
out["all_reduce"] = t.tolist()
ddp = DDP(torch.nn.Linear(2, 1, bias=False), device_mesh=mesh)
ddp(torch.ones(1, 2) * (rank + 1)).sum().backward()
out["ddp_grad"] = (ddp.process_group is mesh.get_group(), ddp.module.weight.grad.tolist())
dist.barrier()
dist.destroy_process_group()
report(out)
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return run_both(PROGRAM, tmp_path_factory.mktemp("mesh"), nprocs=4)


def test_every_observable_matches_torch(runs):
    for rank in range(4):
        mine, theirs = runs["ember"][rank], runs["torch"][rank]
        assert list(mine) == list(theirs)
        for name in mine:
            assert mine[name] == theirs[name], (rank, name)


def test_the_mesh_is_the_world(runs):
    r0, r1, r2, r3 = runs["ember"]
    assert r0["repr"][1][0] == "DeviceMesh((dp=4), 'cpu', stride=(1,))"
    assert r0["group"] == ("group", [0, 1, 2, 3], True)
    assert (r0["ranks"][1], r1["ranks"][1]) == ((0, 0, 0, (0,), None), (1, 1, 1, (1,), (0,)))
    assert r0["all_reduce"] == [10.0, 10.0] and r0["ddp_grad"] == (True, [[2.5, 2.5]])
    assert r1["one_group"] == ("group", [1], False) and r0["one_group"][0] == "IndexError"
    assert r1["(1, 4)_swapped"] == ("value", "DeviceMesh((tp=4, dp=1), 'cpu', stride=(1, ()))")
    assert r3["(2, 2)_tp_group"] == ("group", [2, 3], False)
    assert r3["(2, 2)_dp_group"] == ("group", [1, 3], False)
