"""Contract tests generated from the model registry: a new family (built in, or an installed plugin's)
is covered with no new test code. The checks themselves live in benchbench/contract.py, which
`bench check-model` runs on a user's family; tests/test_plugins.py shows each failing on a broken cell."""

import pytest

from benchbench import contract, models
from benchbench.errors import BenchError

FAMILIES = models.MODELS.names()


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("check", list(contract.CHECKS))
def test_contract(name, check):
    """Batch-first shapes with 1 and 2 layers, a final state that continues the sequence, causality
    unless declared bidirectional (and then truly bidirectional), finite gradients for every parameter
    and the input, stacking with dropout, the same weights and outputs under the same seed, and a
    description that is a docstring's first line."""
    contract.CHECKS[check](name)


@pytest.mark.parametrize("name", FAMILIES)
def test_description_cites_a_source(name):
    description = models.describe()[name]
    assert description and any(ch.isdigit() for ch in description), "docstring should cite a paper and year"


def test_unknown_family_lists_choices():
    with pytest.raises(BenchError, match="choose one of: .*lstm"):
        models.create("nope", input_size=1, hidden_size=1)
