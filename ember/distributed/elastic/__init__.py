"""torch.distributed.elastic: the error reporting of launched workers (multiprocessing.errors);
the launcher itself is ember.distributed.run (torchrun)."""
