"""An example *user* package of builders, as a lab would keep its own (here: two toy tasks on random vectors).

Builders are plain functions in the nnfabrik signatures; the pipeline imports them by dotted name
("my_lab.data.two_task_vectors"), so this package must be importable by every worker and allowed with
``NEURAL_COTRAINING_BUILDER_MODULES=my_lab`` or ``neural_cotraining.registry.allow_builder_modules("my_lab")``.
See ``examples/register_your_own_builders.py``.
"""

__all__ = ["data", "models"]
