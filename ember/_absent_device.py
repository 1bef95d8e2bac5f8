"""What torch's per-backend modules (torch.xpu, torch.mtia, torch.mps) answer in a build without
that backend: nothing available, no memory in use, no generator states."""


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def memory_allocated(device=None):
    return 0


def get_rng_state_all():
    return []


def set_rng_state_all(new_states):
    return None
