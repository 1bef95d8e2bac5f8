"""torch.distributed.elastic.multiprocessing: the workers' error files and their reports
(errors)."""
