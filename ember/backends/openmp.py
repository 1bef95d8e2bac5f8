"""torch.backends.openmp: ember runs no OpenMP of its own (see ember.get_num_threads)."""


def is_available():
    return False
