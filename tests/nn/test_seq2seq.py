"""Seq2Seq: learns to reverse sequences, greedy == beam 1, beam scores = model log-probs."""

from __future__ import annotations

import pytest
import torch
from _kind_checks import assert_all_params_get_gradient, param_gradcheck, single_thread  # noqa: F401

from lamina import DataError, ParameterError
from lamina.nn import Seq2Seq, Seq2SeqConfig

pytestmark = pytest.mark.usefixtures("single_thread")
PAD, BOS, EOS = 0, 1, 2


def reverse_task(n: int, seed: int, longest: int = 6, symbols: int = 8):
    """Sources of 2..longest symbols (ids 3..), targets the reversed symbols then EOS."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, longest + 1, (n,), generator=g)
    src = torch.zeros(n, longest, dtype=torch.long)
    tgt = torch.zeros(n, longest + 1, dtype=torch.long)
    for i, length in enumerate(lengths.tolist()):
        seq = torch.randint(3, 3 + symbols, (length,), generator=g)
        src[i, :length] = seq
        tgt[i, :length] = seq.flip(0)
        tgt[i, length] = EOS
    return src, lengths, tgt


def _train(attention: str, steps: int) -> Seq2Seq:
    model = Seq2Seq(src_vocab=11, tgt_vocab=11, emb_dim=16, hidden=32, attention=attention, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(steps):
        src, lengths, tgt = reverse_task(64, seed=1000 + step)
        opt.zero_grad()
        model.loss(src, lengths, tgt).backward()
        opt.step()
    return model


def _exact_match(model: Seq2Seq, src, lengths, tgt) -> float:
    out = model.greedy_decode(src, lengths, max_len=tgt.shape[1] + 2)
    width = max(out.shape[1], tgt.shape[1])
    a = torch.zeros(len(src), width, dtype=torch.long)
    b = torch.zeros_like(a)
    a[:, :out.shape[1]] = out
    b[:, :tgt.shape[1]] = tgt
    return float((a == b).all(1).float().mean())


def test_bahdanau_model_learns_to_reverse() -> None:
    model = _train("bahdanau", steps=150)
    src, lengths, tgt = reverse_task(300, seed=1)
    assert _exact_match(model, src, lengths, tgt) >= 0.9
    # beam search keeps the answer and ranks its best hypothesis first
    seqs, scores = model.beam_decode(src[:50], lengths[:50], beam_size=3, max_len=9)
    greedy = model.greedy_decode(src[:50], lengths[:50], max_len=9)
    agree = (seqs[:, 0, :greedy.shape[1]] == greedy).all(1).float().mean()
    assert agree >= 0.9


@pytest.mark.slow
def test_luong_model_learns_to_reverse() -> None:
    model = _train("luong", steps=300)
    src, lengths, tgt = reverse_task(300, seed=1)
    assert _exact_match(model, src, lengths, tgt) >= 0.95


@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
def test_beam_of_one_equals_greedy_and_scores_are_the_model_log_probs(attention: str) -> None:
    model = Seq2Seq(src_vocab=9, tgt_vocab=12, emb_dim=6, hidden=8, attention=attention,
                    seed=3).double()
    src, lengths, _ = reverse_task(10, seed=2, symbols=6)
    greedy = model.greedy_decode(src, lengths, max_len=7)
    seqs, scores = model.beam_decode(src, lengths, beam_size=1, max_len=7)
    assert torch.equal(seqs[:, 0], greedy)
    seqs, scores = model.beam_decode(src, lengths, beam_size=4, max_len=7)
    assert seqs.shape[:2] == (10, 4) and scores.shape == (10, 4)
    assert torch.isfinite(scores).all()
    assert bool((scores[:, :-1] >= scores[:, 1:]).all())              # best first
    # each score is the model's own log-probability of the returned sequence
    for j in range(4):
        logp = model.sequence_log_prob(src, lengths, seqs[:, j])
        torch.testing.assert_close(scores[:, j], logp)
    # hypotheses of one source are distinct
    for b in range(10):
        assert len({tuple(s.tolist()) for s in seqs[b]}) == 4


def test_length_penalty_reorders_by_normalised_scores() -> None:
    model = Seq2Seq(src_vocab=9, tgt_vocab=12, emb_dim=6, hidden=8, seed=5)
    src, lengths, _ = reverse_task(6, seed=3, symbols=6)
    _, scores = model.beam_decode(src, lengths, beam_size=3, max_len=6, length_penalty=1.0)
    assert bool((scores[:, :-1] >= scores[:, 1:]).all()) and torch.isfinite(scores).all()


def test_decoding_is_deterministic_and_restores_training_mode() -> None:
    model = Seq2Seq(src_vocab=9, tgt_vocab=12, emb_dim=6, hidden=8, dropout=0.5, seed=0)
    model.train()
    src, lengths, _ = reverse_task(5, seed=4, symbols=6)
    a = model.greedy_decode(src, lengths, max_len=6)
    b = model.greedy_decode(src, lengths, max_len=6)
    assert torch.equal(a, b) and model.training
    after_eos = (a == EOS).long().cumsum(1) - (a == EOS).long() > 0
    assert bool((a[after_eos] == PAD).all())          # pad after each sequence's eos
    assert not bool(((a == PAD) | (a == BOS))[~after_eos].any())   # never generated


def test_source_lengths_default_to_trailing_padding() -> None:
    model = Seq2Seq(src_vocab=9, tgt_vocab=12, emb_dim=6, hidden=8, seed=0).double()
    src, lengths, tgt = reverse_task(6, seed=5, symbols=6)
    torch.testing.assert_close(model(src, None, tgt), model(src, lengths, tgt))
    # padding content beyond the lengths is ignored (it is never packed)
    noisy = src.clone()
    noisy[src == PAD] = 7
    torch.testing.assert_close(model(noisy, lengths, tgt), model(src, lengths, tgt))


@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
def test_gradcheck_float64_and_every_parameter_learns(attention: str) -> None:
    model = Seq2Seq(src_vocab=6, tgt_vocab=7, emb_dim=2, hidden=2, attention=attention, seed=0)
    src = torch.tensor([[3, 4, 5], [4, 3, 0]])
    lengths = torch.tensor([3, 2])
    tgt = torch.tensor([[5, 4, 2], [3, 2, 0]])
    assert param_gradcheck(model, src, lengths, tgt)
    model = model.float()
    assert_all_params_get_gradient(model, model.loss(src, lengths, tgt))


def test_config_round_trip_and_seed() -> None:
    cfg = Seq2SeqConfig(src_vocab=20, tgt_vocab=30, emb_dim=4, hidden=6, attention="luong")
    assert Seq2SeqConfig(**cfg.to_dict()) == cfg
    a, b = Seq2Seq(cfg, seed=1), Seq2Seq(cfg, seed=1)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


@pytest.mark.parametrize("kwargs, message", [
    ({"src_vocab": 10, "tgt_vocab": 3}, "Invalid tgt_vocab=3: must be an integer >= 4"),
    ({"src_vocab": 10, "tgt_vocab": 10, "bos": 0}, "pad, bos and eos must be distinct ids"),
    ({"src_vocab": 10, "tgt_vocab": 10, "eos": 10}, "Invalid eos=10: must be an integer in [0, 9]"),
    ({"src_vocab": 10, "tgt_vocab": 10, "attention": "dot"}, "Invalid attention='dot'"),
    ({"src_vocab": 10, "tgt_vocab": 10**11, "emb_dim": 512},
     "Invalid tgt_vocab=100000000000: this network needs about"),
])
def test_bad_configs(kwargs, message: str) -> None:
    with pytest.raises(ParameterError) as err:
        Seq2Seq(**kwargs)
    assert message in str(err.value)


def test_bad_inputs() -> None:
    model = Seq2Seq(src_vocab=9, tgt_vocab=12, emb_dim=4, hidden=4, seed=0)
    src = torch.tensor([[3, 4, 5], [4, 3, 0]])
    tgt = torch.tensor([[5, 2], [3, 2]])
    with pytest.raises(DataError, match=r"src id 9 \(row 0, position 1\) is outside \[0, 9\)"):
        model(torch.tensor([[3, 9, 5]]), None, tgt[:1])
    with pytest.raises(DataError, match=r"tgt id 12 \(row 1, position 0\) is outside \[0, 12\)"):
        model(src, None, torch.tensor([[5, 2], [12, 2]]))
    with pytest.raises(DataError, match=r"src must be a \(B, T\) tensor of integer ids"):
        model.greedy_decode(torch.tensor([3.0, 4.0]))
    with pytest.raises(ParameterError, match=r"every length must be <= the padded length T=3"):
        model(src, [4, 2], tgt)
    with pytest.raises(ParameterError, match="forward needs the target sequences"):
        model(src, [3, 2])
    with pytest.raises(ParameterError, match=r"Invalid beam_size=0"):
        model.beam_decode(src, beam_size=0)
    with pytest.raises(ParameterError, match=r"Invalid max_len=0"):
        model.greedy_decode(src, max_len=0)


def test_docstring_examples_run() -> None:
    import doctest

    from lamina.nn import _autoencoder, _seq2seq

    for module in (_seq2seq, _autoencoder):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0
