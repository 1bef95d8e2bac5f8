"""torch.distributed.algorithms.model_averaging: averaging parameters over ranks (local SGD)."""
