"""torch.sparse.as_sparse_gradcheck: gradcheck for functions of sparse tensors, run on strided
tensors only (each differentiable sparse input stands in as its values, each differentiable
sparse output as its dense form), as torch's wrapper does."""
_MARK = "__STRIDED_REPRESENTATION__"


def as_sparse_gradcheck(gradcheck):
    """Decorate torch.autograd.gradcheck (or a functools.partial of it) to take and return
    sparse tensors: gradcheck itself sees strided tensors only."""
    import ember

    sparse = {ember.sparse_coo, ember.sparse_csr, ember.sparse_csc, ember.sparse_bsr,
              ember.sparse_bsc}
    blocked = {ember.sparse_bsr, ember.sparse_bsc}

    def gradcheck_with_sparse_support(func, inputs, **kwargs):
        masked = kwargs.pop("masked", False)

        def to_strided(args):
            out = []
            for obj in args if isinstance(args, (list, tuple)) else (args,):
                if not (isinstance(obj, ember.Tensor) and obj.requires_grad
                        and obj.layout in sparse):
                    out.append(obj)
                    continue
                d = {"layout": obj.layout, "shape": obj.shape}
                if not masked:      # the unspecified elements materialised as zeros
                    batch = obj.ndim - obj.dense_dim() - obj.sparse_dim()
                    block = obj.values().shape[batch + 1:batch + 3] \
                        if obj.layout in blocked else None
                    full = ember.ones(obj.shape, device=obj.device, dtype=ember.bool).to_sparse(
                        layout=obj.layout, blocksize=block, dense_dim=obj.dense_dim())
                    obj = obj.to_dense().sparse_mask(full)
                if obj.layout is ember.sparse_coo:
                    d.update(indices=obj._indices(), is_coalesced=obj.is_coalesced())
                    values = obj._values()
                elif obj.layout in (ember.sparse_csr, ember.sparse_bsr):
                    d.update(compressed=obj.crow_indices(), plain=obj.col_indices())
                    values = obj.values()
                else:
                    d.update(compressed=obj.ccol_indices(), plain=obj.row_indices())
                    values = obj.values()
                out.extend((_MARK, d, values.requires_grad_(True)))
            return tuple(out)

        def restored(args):
            out, args = [], list(args)
            while args:
                a = args.pop(0)
                if isinstance(a, str) and a == _MARK:
                    d, values = args.pop(0), args.pop(0)
                    if d["layout"] is ember.sparse_coo:
                        a = ember.sparse_coo_tensor(d["indices"], values, size=d["shape"],
                                                    is_coalesced=d["is_coalesced"])
                    else:
                        a = ember.sparse_compressed_tensor(d["compressed"], d["plain"], values,
                                                           size=d["shape"], layout=d["layout"])
                out.append(a)
            return tuple(out)

        def func_wrapper(*args, **kw):
            outputs = func(*restored(args), **kw)
            many = isinstance(outputs, (list, tuple))
            dense = tuple(o.to_dense(masked_grad=masked)
                          if isinstance(o, ember.Tensor) and o.requires_grad
                          and o.layout in sparse else o
                          for o in (tuple(outputs) if many else (outputs,)))
            return dense if many else dense[0]

        return gradcheck(func_wrapper, to_strided(inputs), **kwargs)

    return gradcheck_with_sparse_support
