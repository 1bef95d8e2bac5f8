"""Writes ember/autograd/_torch_saved.py: which of torch's autograd node classes hold saved
tensors (a backward after the graph was freed raises for those) and which hold none.

Run with the test oracle's torch: `.venv/bin/python scripts/gen_torch_saved_nodes.py`.
tests/test_second_backward.py checks the written table against the installed torch."""
import os
import textwrap


def torch_node_classes():
    """(names holding saved tensors, names holding none), from torch's generated node classes:
    a SavedVariable field shows as a `_raw_saved_<name>` attribute. CopySlices holds its
    wrapped node instead, which it drops after a backward (torch's ERR_BACKWARD_TWICE too)."""
    import torch
    funcs = torch._C._functions
    names = [n for n in dir(funcs) if not n.startswith("_") and isinstance(getattr(funcs, n), type)]
    saves = {n for n in names if any(a.startswith("_raw_saved_") for a in dir(getattr(funcs, n)))}
    saves.add("CopySlices")
    return sorted(saves), sorted(set(names) - saves)


def _words(names):
    return textwrap.indent(textwrap.fill(" ".join(names), 96, break_on_hyphens=False), "    ")


def main():
    saves, plain = torch_node_classes()
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "ember", "autograd", "_torch_saved.py")
    with open(path, "w") as f:
        f.write('"""torch\'s autograd node classes by whether they hold saved tensors, which a '
                'backward frees:\na second backward through a node of SAVES raises torch\'s '
                '"Trying to backward through the\ngraph a second time"; one through a node of '
                'PLAIN runs again. Written by\nscripts/gen_torch_saved_nodes.py from torch '
                '2.13."""\n')
        f.write(f'SAVES = frozenset("""\n{_words(saves)}\n""".split())\n\n')
        f.write(f'PLAIN = frozenset("""\n{_words(plain)}\n""".split())\n')


if __name__ == "__main__":
    main()
