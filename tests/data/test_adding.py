import torch

from benchbench.data.adding import adding_problem


def test_one_marker_per_half_and_target_is_the_marked_sum():
    x, y = adding_problem(500, 30, seed=7)
    assert x.shape == (500, 30, 2) and y.shape == (500, 1)
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values <= 1)).all()
    assert (markers[:, :15].sum(1) == 1).all() and (markers[:, 15:].sum(1) == 1).all()
    torch.testing.assert_close((values * markers).sum(1, keepdim=True), y)


def test_predicting_one_scores_a_sixth():
    _, y = adding_problem(50_000, 20, seed=0)
    mse = (y - 1).pow(2).mean().item()
    assert abs(mse - 1 / 6) < 0.004  # standard error is about 0.0008


def test_fixed_seed_gives_the_same_data_and_other_seeds_differ():
    a = adding_problem(10, 12, seed=3)
    b = adding_problem(10, 12, seed=3)
    c = adding_problem(10, 12, seed=4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
