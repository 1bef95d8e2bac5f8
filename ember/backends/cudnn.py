"""torch.backends.cudnn's switches. ember has no cuDNN (convolution is im2col on cuBLAS), so
is_available() is False and the flags, kept for the scripts that set them, change nothing."""
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None
