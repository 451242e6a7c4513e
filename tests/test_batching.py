"""How splits become batches: streams for truncated BPTT, and sentence batches that never change a
prediction."""

import itertools

import pytest
import torch
from torch.utils.data import TensorDataset

from benchbench import models
from benchbench.batching import DeviceBatches, GroupedBatches, StreamBatches, make_loader
from benchbench.heads import SequenceSummary


def test_stream_batches_are_consecutive_windows_with_next_token_targets():
    stream = torch.arange(103)
    windows = list(StreamBatches(stream, batch_size=4, bptt=10))
    assert len(windows) == 3  # 102 // 4 = 25 columns -> windows of 10, 10, 5
    x = torch.cat([w[0] for w in windows], dim=1)
    y = torch.cat([w[1] for w in windows], dim=1)
    assert x.shape == (4, 25)
    assert torch.equal(x[1], torch.arange(25, 50))  # row b continues where it left off, window after window
    assert torch.equal(y, x + 1)


def test_stream_loader_keeps_order():
    loader = make_loader(torch.arange(1000), batch_size=5, shuffle=True, seed=0, bptt=7)
    firsts = [x[0, 0].item() for x, _ in loader]
    assert firsts == sorted(firsts)  # never shuffled: the carried state must see the text in order


def test_grouped_batches_are_the_loaders_in_order_and_never_ask_past_its_length():
    class Loader:  # 8 batches; asking for a ninth would draw from a shuffling sampler's generator
        def __len__(self):
            return 8

        def __iter__(self):
            yield from range(8)
            raise AssertionError("asked past the length")

    groups = list(GroupedBatches(Loader(), 3))
    assert groups == [[0, 1, 2], [3, 4, 5], [6, 7]] and len(GroupedBatches(Loader(), 3)) == 3
    assert list(GroupedBatches(Loader(), 8)) == [list(range(8))] and len(GroupedBatches(Loader(), 9)) == 1
    with pytest.raises(ValueError):
        GroupedBatches(Loader(), 0)


def _sentences():
    gen = torch.Generator().manual_seed(0)
    return [(torch.randint(2, 50, (n,), generator=gen), i % 2) for i, n in enumerate([3, 5, 3, 8, 5, 3, 1, 8, 3])]


def test_sentence_batches_share_one_length_and_cover_everything_once():
    data = _sentences()
    loader = make_loader(data, batch_size=2, shuffle=True, seed=3)
    seen = []
    for x, y in loader:
        assert x.dim() == 2 and y.shape == (x.shape[0],)
        seen += [(tuple(row.tolist()), label) for row, label in zip(x, y.tolist())]
    assert sorted(seen) == sorted((tuple(ids.tolist()), label) for ids, label in data)


@pytest.mark.parametrize("family", models.MODELS.names())
def test_batching_never_changes_a_sentence_prediction(family):
    """Each sentence's output is the same alone as in its batch, for every family (bidirectional too)."""
    torch.manual_seed(0)
    embed = torch.nn.Embedding(50, 6)
    backbone = models.create(family, input_size=6, hidden_size=8).eval()
    summary = SequenceSummary(backbone.output_size, bidirectional=backbone.bidirectional)

    def predict(ids):  # (B, L) -> (B, F)
        out, _ = backbone(embed(ids))
        return summary(out)

    with torch.no_grad():
        for x, _ in make_loader(_sentences(), batch_size=4, shuffle=False, seed=0):
            together = predict(x)
            alone = torch.cat([predict(row[None]) for row in x])
            torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shuffle", [True, False])
def test_device_batches_are_the_host_loaders_batches(shuffle):
    """Gathered on the device from one copy of an epoch's indices: the same batches, in the same
    order, epoch after epoch (the generator is drawn exactly as the host loader draws it)."""
    data = TensorDataset(torch.arange(40.0).unsqueeze(1), torch.arange(40))  # whole batches: no partial pass drawn
    host = make_loader(data, batch_size=8, shuffle=shuffle, seed=5)
    gathered = make_loader(data, batch_size=8, shuffle=shuffle, seed=5, gather_on_device=True)
    assert isinstance(gathered, DeviceBatches) and len(gathered) == len(host) == 5
    for _ in range(3):  # Lightning takes len() batches of each epoch, no more
        ours, theirs = list(itertools.islice(gathered, len(gathered))), list(itertools.islice(host, len(host)))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
