"""torch.layout: strided, sparse_coo, sparse_csr ... (singletons that print as torch's)."""

__all__ = ["layout", "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr",
           "sparse_bsc", "_mkldnn", "jagged"]


class layout:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "torch." + self.name

    def __eq__(self, other):
        # older ember code and user code compare against the string "torch.strided"
        if isinstance(other, str):
            return other == repr(self)
        return self is other

    def __hash__(self):
        return hash(self.name)

    def __reduce__(self):
        return self.name            # pickled as the module global ember.<name> / torch.<name>


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
_mkldnn = layout("_mkldnn")
jagged = layout("jagged")
