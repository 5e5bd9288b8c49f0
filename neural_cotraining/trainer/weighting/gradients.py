"""Per-task gradient helpers for gradient-based loss weightings (GradNorm, PCGrad).

Which parameters are *shared*? The trainer passes candidates: ``model.shared_parameters()`` if the model has that
method, else ``model.core.parameters()`` if it has a ``core`` module, else all its parameters. Candidates are not
trusted blindly: a core may hold layers that only one task reads (e.g. the classification-only top of a core whose
neural readouts read an intermediate layer), and "all parameters" includes every task's head. So a round's shared
parameters are the candidates that **two or more of the round's task losses reach in the autograd graph** -- found
by walking each loss's graph to its leaves, which costs no gradient computation and follows the graph actually built
(per task and per data_key) in that round. Everything else gets its plain gradient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import torch

__all__ = ["reached_leaves", "shared_among_tasks", "flat_gradient", "assign_flat_gradient"]


def reached_leaves(tensor: torch.Tensor) -> dict[int, torch.Tensor]:
    """``{id(leaf): leaf}`` of every leaf tensor requiring grad that ``tensor``'s autograd graph accumulates into."""
    leaves: dict[int, torch.Tensor] = {}
    if tensor.grad_fn is None:
        if tensor.requires_grad:  # the tensor is itself a leaf
            leaves[id(tensor)] = tensor
        return leaves
    seen = set()
    stack = [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)  # AccumulateGrad nodes hold their leaf
        if variable is not None:
            leaves[id(variable)] = variable
        stack.extend(next_node for next_node, _ in node.next_functions)
    return leaves


def shared_among_tasks(
    task_losses: Mapping[str, torch.Tensor], candidates: Iterable[torch.Tensor]
) -> tuple[list[torch.Tensor], dict[int, torch.Tensor]]:
    """The candidates reached by at least two task losses (in candidate order), and every leaf any loss reaches."""
    reached = {task: reached_leaves(loss) for task, loss in task_losses.items()}
    everything: dict[int, torch.Tensor] = {}
    for leaves in reached.values():
        everything.update(leaves)
    shared, seen = [], set()
    for parameter in candidates:
        key = id(parameter)
        if key in seen:
            continue
        seen.add(key)
        if sum(key in leaves for leaves in reached.values()) >= 2:
            shared.append(parameter)
    return shared, everything


def flat_gradient(loss: torch.Tensor, parameters: Sequence[torch.Tensor]) -> torch.Tensor:
    """d loss / d parameters as one flat vector (zeros where ``loss`` does not reach); keeps the graph."""
    gradients = torch.autograd.grad(loss, list(parameters), retain_graph=True, allow_unused=True)
    return torch.cat(
        [
            (torch.zeros_like(parameter) if gradient is None else gradient).reshape(-1)
            for parameter, gradient in zip(parameters, gradients)
        ]
    )


def assign_flat_gradient(parameters: Sequence[torch.Tensor], flat: torch.Tensor) -> None:
    """Add slices of ``flat`` to the parameters' ``.grad`` (set where it is None)."""
    offset = 0
    for parameter in parameters:
        size = parameter.numel()
        gradient = flat[offset : offset + size].view_as(parameter).to(parameter.dtype)
        offset += size
        if parameter.grad is None:
            parameter.grad = gradient.clone()
        else:
            parameter.grad.add_(gradient)
    if offset != flat.numel():
        raise ValueError(f"flat gradient has {flat.numel()} elements, the parameters {offset}")
