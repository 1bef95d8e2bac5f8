"""torch's CPU `topk`, `sort`, `kthvalue` and `mode`, element for element: which of several
equal values they return, and in what order, are whatever libstdc++'s `std::nth_element`,
`std::partial_sort` and `std::sort` (and torch's own quick select) leave
(aten/src/ATen/native/TopKImpl.h, SortingKernel.cpp, Sorting.cpp).  A stable sort gives the same
answer wherever the values are distinct, so ember runs these Python copies of the algorithms
only on the rows where it does not (ties, topk's `sorted=False`).

Every function works on `q`, a list of element indices, ordered by `before(a, b)`: `key[a] >
key[b]`, where `key` ranks the values (equal values share a rank) so that the comparator is
torch's own, NaN included."""
import numpy as np

BUDGET = 1 << 16    # elements one call may hand these pure-Python copies; past it ember keeps
                    # its stable order rather than take seconds
_THRESHOLD = 16     # libstdc++'s _S_threshold: introsort leaves runs this short to insertion sort


def _keys(values, largest):
    """Ranks of `values` (equal values, NaNs among them, share one; NaN's is the top) such that
    torch's comparator is `key[a] > key[b]`."""
    if values.dtype.kind == "V":        # bfloat16: np.unique neither orders nor merges its NaNs
        values = values.astype(np.float32)
    rank = np.unique(values, return_inverse=True)[1].reshape(-1)
    return (rank if largest else -rank).tolist()


def sort_row(values, descending):
    """The order torch's sort (stable=False) gives one row `values` (a NumPy vector)."""
    key = _keys(values, descending)
    q = list(range(len(key)))
    _sort(q, key, 0, len(q))
    return q


class _Lex:
    """A row under torch's unique(dim=...) comparator, lexicographic `<` on the raw values (a
    NaN compares false both ways), as `before(a, b)`: `key[a] > key[b]`."""
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __gt__(self, other):
        for a, b in zip(self.v, other.v):
            if a < b:
                return True
            if a > b:
                return False
        return False


def sort_rows(rows):
    """The order torch's std::sort gives the rows of a 2-D NumPy array in unique(dim=...)."""
    if rows.dtype.kind == "V":
        rows = rows.astype(np.float32)
    key = [_Lex(r) for r in rows.tolist()]
    q = list(range(len(key)))
    _sort(q, key, 0, len(q))
    return q


def mode_row(values):
    """The index torch's mode gives for one row `values`: it std::sorts (value, index) pairs by
    `a < b` on the raw values (NaN compares false) and takes the last of the first longest run."""
    if values.dtype.kind == "V":
        values = values.astype(np.float32)
    key = [-v for v in values.tolist()]
    n = len(key)
    q = list(range(n))
    _sort(q, key, 0, n)
    best, best_at, run = 0, 0, 0
    for j in range(n):
        run += 1
        if j == n - 1 or key[q[j]] != key[q[j + 1]]:
            if run > best:
                best, best_at = run, q[j]
            run = 0
    return best_at


def kth_row(values, k):
    """The index torch's kthvalue gives for the k-th smallest (0-based k) of one row `values`:
    its quick_select_template (aten/src/ATen/native/SortingUtils.h), NaN largest."""
    key = _keys(values, True)
    idx = list(range(len(key)))

    def swap(i, j):
        key[i], key[j] = key[j], key[i]
        idx[i], idx[j] = idx[j], idx[i]
    lo, hi = 0, len(key) - 1
    while hi > lo:
        if hi == lo + 1:
            if key[lo] > key[hi]:
                swap(lo, hi)
            break
        swap(lo + (hi - lo) // 2, lo + 1)           # median of three for the pivot
        if key[lo + 1] > key[hi]:
            swap(lo + 1, hi)
        if key[lo] > key[hi]:
            swap(lo, hi)
        if key[lo + 1] > key[lo]:
            swap(lo + 1, lo)
        i, j, pivot = lo + 1, hi, key[lo]
        while True:
            i += 1
            while pivot > key[i]:
                i += 1
            j -= 1
            while key[j] > pivot:
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1
    return idx[k]


def topk_row(values, k, largest, sorted_):
    """The indices torch's topk gives for one row `values` (a NumPy vector, 0 < k <= len)."""
    key = _keys(values, largest)
    n = len(key)
    q = list(range(n))
    if k * 64 <= n:
        _heap_select(q, key, 0, k, n)
        _sort_heap(q, key, 0, k)
    else:
        _introselect(q, key, 0, k - 1, n, 2 * (n.bit_length() - 1))
        if sorted_ and k > 1:
            _sort(q, key, 0, k - 1)
    return q[:k]


def _adjust_heap(q, key, first, hole, length, value):
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if key[q[first + child]] > key[q[first + child - 1]]:
            child -= 1
        q[first + hole] = q[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        q[first + hole] = q[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and key[q[first + parent]] > key[value]:
        q[first + hole] = q[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    q[first + hole] = value


def _heap_select(q, key, first, middle, last):
    length = middle - first
    if length >= 2:
        for parent in range((length - 2) // 2, -1, -1):
            _adjust_heap(q, key, first, parent, length, q[first + parent])
    for i in range(middle, last):
        if key[q[i]] > key[q[first]]:       # __pop_heap(first, middle, i)
            value = q[i]
            q[i] = q[first]
            _adjust_heap(q, key, first, 0, length, value)


def _sort_heap(q, key, first, last):
    while last - first > 1:
        last -= 1
        value = q[last]
        q[last] = q[first]
        _adjust_heap(q, key, first, 0, last - first, value)


def _partition_pivot(q, key, first, last):
    """__unguarded_partition_pivot: median of three moved to `first`, then Hoare's partition."""
    a, b, c = first + 1, first + (last - first) // 2, last - 1
    ka, kb, kc = key[q[a]], key[q[b]], key[q[c]]
    if ka > kb:
        m = b if kb > kc else (c if ka > kc else a)
    else:
        m = a if ka > kc else (c if kb > kc else b)
    q[first], q[m] = q[m], q[first]
    pivot = key[q[first]]
    lo, hi = first + 1, last
    while True:
        while key[q[lo]] > pivot:
            lo += 1
        hi -= 1
        while pivot > key[q[hi]]:
            hi -= 1
        if lo >= hi:
            return lo
        q[lo], q[hi] = q[hi], q[lo]
        lo += 1


def _linear_insert(q, key, last):
    value = q[last]
    while key[value] > key[q[last - 1]]:
        q[last] = q[last - 1]
        last -= 1
    q[last] = value


def _insertion_sort(q, key, first, last):
    for i in range(first + 1, last):
        if key[q[i]] > key[q[first]]:
            value = q[i]
            q[first + 1:i + 1] = q[first:i]
            q[first] = value
        else:
            _linear_insert(q, key, i)


def _introselect(q, key, first, nth, last, depth):
    while last - first > 3:
        if depth == 0:
            _heap_select(q, key, first, nth + 1, last)
            q[first], q[nth] = q[nth], q[first]
            return
        depth -= 1
        cut = _partition_pivot(q, key, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, key, first, last)


def _introsort_loop(q, key, first, last, depth):
    while last - first > _THRESHOLD:
        if depth == 0:
            _heap_select(q, key, first, last, last)
            _sort_heap(q, key, first, last)
            return
        depth -= 1
        cut = _partition_pivot(q, key, first, last)
        _introsort_loop(q, key, cut, last, depth)
        last = cut


def _sort(q, key, first, last):
    _introsort_loop(q, key, first, last, 2 * ((last - first).bit_length() - 1))
    if last - first > _THRESHOLD:
        _insertion_sort(q, key, first, first + _THRESHOLD)
        for i in range(first + _THRESHOLD, last):
            _linear_insert(q, key, i)
    else:
        _insertion_sort(q, key, first, last)
