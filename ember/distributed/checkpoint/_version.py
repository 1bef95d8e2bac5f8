"""The torch release whose flattening a checkpoint being loaded was written with."""
_derived_version = None
