"""torch.__future__: switches for behaviours torch plans to make the default. With
`set_overwrite_module_params_on_conversion(True)`, Module.to / .cuda() / .half() ... give a
module new Parameter objects instead of changing the old ones' data; with
`set_swap_module_params_on_conversion(True)` (which takes precedence) they, and
load_state_dict, swap the new tensors into the existing Parameter objects
(`ember.utils.swap_tensors`)."""
_overwrite_module_params_on_conversion = False
_swap_module_params_on_conversion = False


def set_overwrite_module_params_on_conversion(value):
    global _overwrite_module_params_on_conversion
    _overwrite_module_params_on_conversion = value


def get_overwrite_module_params_on_conversion():
    return _overwrite_module_params_on_conversion


def set_swap_module_params_on_conversion(value):
    global _swap_module_params_on_conversion
    _swap_module_params_on_conversion = value


def get_swap_module_params_on_conversion():
    return _swap_module_params_on_conversion
