"""The per-layer C functions of edgegen's specialized kernels, shared between layers that differ
only in their constants.

Each specialized kernel's ``templates/calls/<KIND>.fn.j2`` renders one function per layer: a
noinline wrapper whose body calls the always-inline kernel with literal shapes, options and the
layer's constant arrays. Layers with the same shapes and options (kws's four 1x1 convolutions,
its four depthwise layers) would compile to identical machine code that differs only in the
addresses of their constants, each copy several KiB of flash. So the rendered functions are
compared with their constants' names replaced by parameters: equal ones become one function that
takes the constants as arguments, and each layer's ``<model>_call<N>`` becomes a macro that calls it
with that layer's arrays (the call sites in ``invoke`` stay as they are). Measured on kws (qemu-m4):
code without weights and test vectors 33,498 -> 15,230 bytes for +0.0-0.4 % instructions
(docs/benchmarks.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jinja2

from .program import Call, Program

_SIGNATURE = re.compile(r"^(static __attribute__\(\(noinline\)\) void )(\w+)\(([^)]*)\)$", re.M)


@dataclass(frozen=True)
class _Rendered:
    call: Call
    comment: str  # the template's comment block (names the layer)
    body: str  # from the signature on, the function's own name and its constants' names replaced
    params: str  # the template's own parameters (the tensors)
    constants: tuple[str, ...]  # constant names, in the order they become parameters k0, k1, ...


def _render(env: jinja2.Environment, ctx: dict[str, Any], program: Program, call: Call) -> _Rendered:
    text = env.get_template(f"calls/{call.KIND}.fn.j2").render(**ctx, call=call)
    m = _SIGNATURE.search(text)
    if m is None or m.group(2) != f"{program.name}_call{call.index}":
        raise AssertionError(f"templates/calls/{call.KIND}.fn.j2: expected 'static __attribute__((noinline)) void "
                             f"{program.name}_call{call.index}(...)' on a line of its own")
    comment, rest = text[: m.start()], text[m.end():]
    known = {c.name for c in program.constants}
    order: list[str] = []
    for word in re.findall(r"\b\w+\b", rest):
        if word in known and word not in order:
            order.append(word)
    for i, name in enumerate(order):
        rest = re.sub(rf"\b{re.escape(name)}\b", f"k{i}", rest)
    return _Rendered(call=call, comment=comment, body=rest, params=m.group(3), constants=tuple(order))


def kernel_functions(env: jinja2.Environment, ctx: dict[str, Any], program: Program) -> list[str]:
    """The C text of the shared kernel functions, each followed by the macros of its layers."""
    p = program.name
    groups: dict[tuple[str, str, tuple[str, ...]], list[_Rendered]] = {}
    for call in program.calls:
        if type(call).HEADER is None:
            continue
        r = _render(env, ctx, program, call)
        ctypes = tuple(program.constant(n).ctype for n in r.constants)
        groups.setdefault((r.params, r.body, ctypes), []).append(r)
    out = []
    for g, ((params, body, ctypes), members) in enumerate(groups.items()):
        consts = "".join(f", const {t} *k{i}" for i, t in enumerate(ctypes))
        layers = ", ".join(str(r.call.index) for r in members)
        text = members[0].comment.replace(f"/* call {members[0].call.index}:", f"/* calls {layers}:", 1) \
            if len(members) > 1 else members[0].comment
        text += f"static __attribute__((noinline)) void {p}_kernel{g}({params}{consts}){body}"
        for r in members:
            args = "".join(f", {n}" for n in r.constants)
            text += f"#define {p}_call{r.call.index}(...) {p}_kernel{g}(__VA_ARGS__{args})\n"
        out.append(text)
    return out
