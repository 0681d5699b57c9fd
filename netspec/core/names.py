"""Names a layer or a network may not take: the compiled module's own attributes.

A layer's name is the name of its submodule in the compiled ``torch.fx.GraphModule`` (a network's, of
its module when a spec has several), so a name that is already an attribute of ``nn.Module`` or of
``GraphModule`` (``forward``, ``training``, ``cuda``, ``parameters``, ``graph``) cannot be one, and
names starting with ``_`` are torch's private attributes (``_modules``). ``check`` refuses them, so it
agrees with ``compile``; it never imports torch, so the list is written out here, and
``tests/core/test_names.py`` compares it with ``dir(torch.fx.GraphModule)`` and ``dir(torch.nn.Module)``
of the installed torch so that it stays current.
"""

MODULE_ATTRIBUTES: frozenset[str] = frozenset((
    'T_destination', 'add_module', 'add_submodule', 'apply', 'bfloat16', 'buffers', 'call_super_init',
    'children', 'code', 'compile', 'cpu', 'cuda', 'delete_all_unused_submodules', 'delete_submodule',
    'double', 'dump_patches', 'eval', 'extra_repr', 'float', 'forward', 'get_buffer', 'get_extra_state',
    'get_parameter', 'get_submodule', 'graph', 'half', 'ipu', 'load_state_dict', 'meta', 'modules', 'mtia',
    'named_buffers', 'named_children', 'named_modules', 'named_parameters', 'parameters', 'print_readable',
    'recompile', 'register_backward_hook', 'register_buffer', 'register_forward_hook',
    'register_forward_pre_hook', 'register_full_backward_hook', 'register_full_backward_pre_hook',
    'register_load_state_dict_post_hook', 'register_load_state_dict_pre_hook', 'register_module',
    'register_parameter', 'register_state_dict_post_hook', 'register_state_dict_pre_hook', 'requires_grad_',
    'set_extra_state', 'set_submodule', 'shape_env', 'share_memory', 'state_dict', 'to', 'to_empty',
    'to_folder', 'train', 'training', 'type', 'xpu', 'zero_grad',
))


def reserved_name(name: str, what: str = "layer") -> str | None:
    """Why ``name`` cannot name a ``what`` (a message with a hint), or None when it can."""
    if name.startswith("_"):
        return (f"{what} name '{name}' starts with '_', which torch keeps for a module's private attributes; "
                f"hint: drop the leading underscore")
    if name in MODULE_ATTRIBUTES:
        return (f"{what} name '{name}' is an attribute of torch's nn.Module/fx.GraphModule, so it cannot name "
                f"a submodule of the compiled module; hint: rename it, e.g. '{name}_{what}' or 'my_{name}'")
    return None
