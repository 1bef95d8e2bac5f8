"""torch.distributed.algorithms: DDP communication hooks (ddp_comm_hooks), Join for uneven
inputs (join) and model averaging (model_averaging)."""
