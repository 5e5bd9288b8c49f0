"""The documentation that mirrors code is held to the code: the co-trainer's key table, the README's links."""

import inspect
import re
from pathlib import Path

from neural_cotraining.registry import RESERVED_ARGUMENTS
from neural_cotraining.trainer.builders import cotrainer

ROOT = Path(__file__).resolve().parents[1]


def documented_trainer_keys() -> list[str]:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = text[text.index("## The co-trainer's keys"):]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.M)


def test_the_configuration_reference_lists_exactly_the_cotrainers_keys():
    parameters = inspect.signature(cotrainer).parameters
    accepted = [name for name, p in parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY or (p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
                                                               and name not in RESERVED_ARGUMENTS["trainer"])]
    documented = documented_trainer_keys()
    assert len(documented) == len(set(documented)), "a key is documented twice"
    assert sorted(documented) == sorted(accepted)


def test_every_relative_link_in_the_docs_points_at_a_file():
    pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []
