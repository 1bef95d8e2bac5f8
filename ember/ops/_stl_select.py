"""torch's CPU `topk`, element for element: which of several equal values it returns, and the
order of an unsorted result, are whatever libstdc++'s `std::nth_element`, `std::partial_sort`
and `std::sort` leave (aten/src/ATen/native/TopKImpl.h).  A stable sort gives the same answer
whenever the top values are distinct, so ember runs these Python copies of the libstdc++
algorithms only on the rows where it does not (ties, `sorted=False`).  torch's sort without
`stable` is std::sort, done the same way.

Every function works on `q`, a list of element indices, ordered by `before(a, b)`: `key[a] >
key[b]`, where `key` ranks the values (equal values share a rank) so that the comparator is
torch's own, NaN included."""
import numpy as np

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
