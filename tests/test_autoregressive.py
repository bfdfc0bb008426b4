"""Autoregressive models: the autoregressive property through Jacobians, normalisation by
enumeration, sample frequencies, and PixelCNN's blind spot versus the gated variant; colour masks
through gradients, the class-conditional Gated PixelCNN per label, completion, and the Transformer's
key/value cache against recomputation."""
import pytest
import torch
from torch.autograd.functional import jacobian

from dgmlib.models import (FVSBN, MADE, NADE, GatedPixelCNN, GatedPixelCNNConfig, MADEConfig, PixelCNN,
                           PixelCNNConfig, PixelTransformer, TransformerConfig)
from dgmlib.models.autoregressive import colour_causal_mask, colour_pixelcnn_net
from dgmlib.nn import MaskedConv2d
from dgmlib.testing import check_autoregressive, check_normalized, enumerate_binary


def tiny(name, shape, scale=0.5, order=None, made_seed=0):
    """Tiny models over binary images of `shape`, with random (not initial) weights: N(0, scale^2) added.

    `order` is the generation order of fvsbn_random_order and nade (random if None); `made_seed`
    picks the masks, and so the orders, of made_orders and made_direct.
    """
    def order_():
        return torch.randperm(torch.Size(shape).numel()) if order is None else torch.as_tensor(order)

    builders = {
        "fvsbn": lambda: FVSBN(shape),
        "fvsbn_random_order": lambda: FVSBN(shape, order=order_()),
        "nade": lambda: NADE(shape, hidden=6, order=order_()),
        "made": lambda: MADE(shape, MADEConfig(hidden_sizes=(12, 12))),
        "made_orders": lambda: MADE(shape, MADEConfig(hidden_sizes=(12,), n_masks=3, resample_order=True,
                                                      seed=made_seed)),
        "made_direct": lambda: MADE(shape, MADEConfig(hidden_sizes=(12,), n_masks=3, resample_order=True,
                                                      direct=True, seed=made_seed)),
        "pixelcnn": lambda: PixelCNN(shape, PixelCNNConfig(channels=6, n_blocks=2, first_kernel=3)),
        "gated_pixelcnn": lambda: GatedPixelCNN(shape, GatedPixelCNNConfig(channels=6, n_layers=2, kernel=3,
                                                                             first_kernel=3)),
        "transformer": lambda: PixelTransformer(shape, TransformerConfig(n_layer=2, n_head=2, n_embd=8)),
    }
    torch.manual_seed(0)
    model = builders[name]().double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
    return model.eval()


NAMES = ["fvsbn", "fvsbn_random_order", "nade", "made", "made_orders", "made_direct", "pixelcnn",
         "gated_pixelcnn", "transformer"]


def masks_of(model):
    return range(model.config.n_masks) if isinstance(model, MADE) else [None]


@pytest.mark.parametrize("name", NAMES)
def test_logit_i_depends_only_on_earlier_pixels(name):
    model = tiny(name, (1, 4, 4))
    for k in masks_of(model):
        if k is not None:
            model.use_mask(k)
        seen = check_autoregressive(model)  # continuous inputs: the networks are smooth in x
        rank = torch.argsort(model.order)
        earlier = rank[None, :] < rank[:, None]
        assert seen[earlier].float().mean() > 0.5, "the model should use most earlier pixels"


def test_the_autoregressive_check_catches_a_mask_that_lets_the_future_in():
    model = tiny("made", (1, 4, 4))
    model.layers[-1].mask = torch.ones_like(model.layers[-1].mask)
    with pytest.raises(AssertionError, match="not autoregressive"):
        check_autoregressive(model)
    # and a Jacobian computed independently agrees with the check on the correct model
    good = tiny("made", (1, 4, 4))
    x = torch.rand(1, 16, dtype=torch.float64)
    J = jacobian(lambda v: good.conditional_logits(v)[0], x)[:, 0, :]
    assert torch.equal(J != 0, check_autoregressive(good, inputs=x))


def all_binary(shape):
    return enumerate_binary(shape, torch.float64)


@pytest.mark.parametrize("name", NAMES)
def test_log_prob_sums_to_one_over_all_binary_images(name):
    model = tiny(name, (1, 3, 3))
    assert abs(check_normalized(model, atol=1e-9)) < 1e-9  # 512 images


# For the sampling test, the models with an order of their own generate far from raster order
# (made_seed=2: orders 0123, 3201, 2130) with strong dependence on the earlier pixels; with a nearly
# raster order and weak weights, a sampler that ignores the order passes. Here it is >= 0.06 away in
# total variation, as is one that fills all pixels from one pass on zeros (>= 0.05 for every model).
FAR_FROM_RASTER = {"fvsbn_random_order": dict(scale=1.0, order=[3, 2, 1, 0]),
                   "nade": dict(scale=1.0, order=[3, 2, 1, 0]),
                   "made_orders": dict(scale=1.0, made_seed=2),
                   "made_direct": dict(scale=1.0, made_seed=2)}


@pytest.mark.parametrize("name", NAMES)
def test_sample_frequencies_match_log_prob(name):
    model = tiny(name, (1, 2, 2), **FAR_FROM_RASTER.get(name, {}))
    torch.manual_seed(1)
    p = model.log_prob(all_binary((1, 2, 2))).exp()
    samples = model.sample(30_000)
    assert samples.dtype == torch.float64  # the model's dtype
    index = (samples.flatten(1) * torch.tensor([8.0, 4.0, 2.0, 1.0], dtype=torch.float64)).sum(1).long()
    freq = torch.bincount(index, minlength=16).double() / len(samples)
    assert 0.5 * (freq - p).abs().sum() < 0.03  # sampling noise <= 0.01


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_samples_come_out_in_the_models_dtype(name, dtype):
    model = tiny(name, (1, 2, 2)).to(dtype)
    samples = model.sample(3)
    assert samples.dtype == dtype and samples.shape == (3, 1, 2, 2)
    assert model.log_prob(samples).dtype == dtype


def test_low_temperature_sampling_is_greedy_decoding():
    model = tiny("made", (1, 3, 3))
    x = torch.zeros(1, 9, dtype=torch.float64)
    for i in model.order.tolist():  # greedy: the more likely value of each conditional
        x[0, i] = (model.conditional_logits(x)[0, i] > 0).float()
    samples = model.sample(20, temperature=1e-4)
    assert torch.equal(samples.flatten(1), x.expand(20, -1))
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, temperature=0.0)


def test_nade_matches_its_definition_computed_one_conditional_at_a_time():
    model = tiny("nade", (1, 2, 3))
    x = torch.randint(0, 2, (4, 6)).double()
    fast = model.conditional_logits(x)
    for k, i in enumerate(model.order.tolist()):
        before = model.order[:k]
        h = torch.sigmoid(model.c + x[:, before] @ model.W[:, before].T)
        assert torch.allclose(fast[:, i], h @ model.V[i] + model.b[i])


def test_nade_logit_does_not_move_by_one_rounding_when_its_own_pixel_flips():
    # exact independence: summing the earlier pixels as cumsum - own term would round differently
    # with and without x_i, so logit i would move by ~1e-7 in float32
    torch.manual_seed(0)
    model = NADE((1, 28, 28), hidden=16, order=torch.randperm(784))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    x = torch.randint(0, 2, (1, 784)).float().repeat(784, 1)
    flipped = x.clone()
    flipped.diagonal().copy_(1 - x.diagonal())  # row i: pixel i flipped
    with torch.no_grad():  # same batch shape for both, so the same kernels and summation orders
        moved = model.conditional_logits(x).diagonal() != model.conditional_logits(flipped).diagonal()
    assert not moved.any(), f"{int(moved.sum())} of 784 logits change when their own pixel flips"


def test_made_ensemble_is_the_mixture_of_its_masks():
    model = tiny("made_orders", (1, 3, 3))
    x = all_binary((1, 3, 3))[::37]
    model.train()
    per_mask = []
    for k in range(3):
        model.use_mask(k)
        per_mask.append(model.log_prob(x).exp())
    model.eval()
    assert torch.allclose(model.log_prob(x).exp(), torch.stack(per_mask).mean(0))
    assert len({tuple(model.all_orders[k].tolist()) for k in range(3)}) == 3  # three different orders


def test_pixelcnn_has_a_blind_spot_and_the_gated_pixelcnn_does_not():
    torch.manual_seed(0)
    shape, (i, j) = (1, 12, 12), (6, 4)
    models = {"pixelcnn": PixelCNN(shape, PixelCNNConfig(channels=8, n_blocks=4, first_kernel=7)),
              "gated": GatedPixelCNN(shape, GatedPixelCNNConfig(channels=8, n_layers=4, kernel=3, first_kernel=7))}
    seen = {}
    for name, model in models.items():
        x = torch.rand(1, *shape, requires_grad=True)
        model.double().logits_image(x.double())[0, 0, i, j].backward()
        g = x.grad[0, 0] != 0
        later = torch.arange(144).view(12, 12) >= i * 12 + j
        assert not g[later].any(), f"{name}: the output at ({i}, {j}) sees a later pixel"
        seen[name] = g
    # (5, 8) comes before (6, 4) in raster order, inside the receptive field's width, yet the
    # stacked masked convolutions of the PixelCNN never reach it: the blind spot
    assert not seen["pixelcnn"][5, 8] and seen["pixelcnn"][4, 8]
    assert seen["gated"][5, 8]
    assert seen["gated"][:i].sum() > seen["pixelcnn"][:i].sum()


# -- colour masks ----------------------------------------------------------------------------------
def colour_dependencies(net, shape=(3, 5, 5), n_inputs=3):
    """deps[c, i, c', j]: output channel c at pixel i depends on input channel c' at pixel j (by gradients)."""
    colours, h, w = shape
    torch.manual_seed(0)
    deps = torch.zeros(colours, h * w, colours, h * w, dtype=torch.bool)
    for _ in range(n_inputs):  # inputs in (0, 1), not binary, so that no ReLU is off at every point
        x = torch.rand(1, *shape, dtype=torch.float64)
        J = jacobian(lambda v: net(v).flatten(), x).view(colours, h * w, colours, h * w)
        deps |= J != 0
    return deps


def allowed_colour_dependencies(mask_type, colours=3, pixels=25):
    """Earlier pixels, any channel; the same pixel, channels < c (A) or <= c (B)."""
    pixel = torch.arange(pixels)
    colour = torch.arange(colours)
    earlier = (pixel[None, :] < pixel[:, None])[None, :, None, :]
    same = (pixel[None, :] == pixel[:, None])[None, :, None, :]
    lower = colour[None, :] < colour[:, None] if mask_type == "A" else colour[None, :] <= colour[:, None]
    return earlier | (same & lower[:, None, :, None])


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_one_colour_masked_layer_sees_earlier_pixels_and_the_allowed_channels_of_its_own(mask_type):
    torch.manual_seed(0)
    layer = MaskedConv2d(3, 3, 5, colour_causal_mask(5, 3, 3, mask_type)).double()
    deps = colour_dependencies(layer)
    allowed = allowed_colour_dependencies(mask_type)
    assert not (deps & ~allowed).any(), "a colour channel depends on the future or on a later channel"
    centre = torch.arange(25)
    own = deps[:, centre, :, centre]  # (pixel, c, c'): dependence on the same pixel, for every pixel
    expected = torch.tril(torch.ones(3, 3, dtype=torch.bool), diagonal=-1 if mask_type == "A" else 0)
    assert torch.equal(own[12], expected)  # R sees nothing of its own pixel (A) or itself (B); B sees R and G
    assert deps[:, 12, :, 6].all()  # and every channel of the pixel above-left (inside the 5x5 kernel)


def test_a_stack_of_colour_masks_is_autoregressive_over_pixels_and_channels():
    torch.manual_seed(0)
    net = colour_pixelcnn_net(channels=12, n_layers=2, kernel=3).double()  # 4 per colour: no path all dead
    deps = colour_dependencies(net)
    assert not (deps & ~allowed_colour_dependencies("A")).any()
    centre = 12  # pixel (2, 2): G reads R, B reads R and G of the same pixel, R reads none of it
    assert deps[1, centre, 0, centre] and deps[2, centre, 0, centre] and deps[2, centre, 1, centre]
    assert not deps[0, centre, :, centre].any()
    # a type-B first layer lets each channel see itself: the check above must catch it
    leaky = colour_pixelcnn_net(channels=12, n_layers=2, kernel=3).double()
    leaky[0].mask = colour_causal_mask(3, 3, 12, "B").double()
    leaks = colour_dependencies(leaky) & ~allowed_colour_dependencies("A")
    assert leaks[0, centre, 0, centre] and leaks[2, centre, 2, centre]


def test_colour_masks_refuse_channels_that_do_not_split_into_three_groups():
    with pytest.raises(ValueError, match="colour groups"):
        colour_causal_mask(3, 3, 8, "A")
    with pytest.raises(ValueError, match="mask_type"):
        colour_causal_mask(3, 3, 6, "C")


# -- the class-conditional Gated PixelCNN -------------------------------------------------------------
def tiny_conditional(shape, scale=1.0, num_classes=10):
    torch.manual_seed(0)
    model = GatedPixelCNN(shape, GatedPixelCNNConfig(channels=6, n_layers=2, kernel=3, first_kernel=3),
                          num_classes=num_classes).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
    return model.eval()


def test_conditional_gated_pixelcnn_is_autoregressive_for_every_label():
    model = tiny_conditional((1, 4, 4), scale=0.5)
    inputs = torch.rand(4, 16, generator=torch.Generator().manual_seed(0))
    earlier = torch.arange(16)[None, :] < torch.arange(16)[:, None]
    for label in range(10):
        y = torch.tensor([label])
        # check_autoregressive hands a function float32 inputs; the model computes in float64
        seen = check_autoregressive(lambda v: model.conditional_logits(v.double(), y.expand(len(v))), num_dims=16,
                                    inputs=inputs)
        assert seen[earlier].float().mean() > 0.5, "the model should use most earlier pixels"


def test_conditional_gated_pixelcnn_is_normalised_for_every_label():
    model = tiny_conditional((1, 3, 3))
    assert abs(check_normalized(model, atol=1e-9)) < 1e-9  # 512 images for each of the 10 labels


def test_conditional_samples_follow_the_label_they_are_drawn_for():
    model = tiny_conditional((1, 2, 2), num_classes=2)
    x = all_binary((1, 2, 2))
    weights = torch.tensor([8.0, 4.0, 2.0, 1.0], dtype=torch.float64)
    p = {label: model.log_prob(x, torch.full((16,), label)).exp() for label in (0, 1)}
    assert 0.5 * (p[0] - p[1]).abs().sum() > 0.15  # the label changes the distribution
    torch.manual_seed(1)
    for label in (0, 1):
        samples = model.sample(20_000, y=label)
        freq = torch.bincount((samples.flatten(1) * weights).sum(1).long(), minlength=16).double() / 20_000
        assert 0.5 * (freq - p[label]).abs().sum() < 0.03  # sampling noise <= 0.012
        assert 0.5 * (freq - p[1 - label]).abs().sum() > 0.1  # and not the other label's distribution


# -- completion and the key/value cache ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["gated_pixelcnn", "transformer", "nade"])
def test_completion_samples_the_rest_from_its_conditional(name):
    model = tiny(name, (1, 2, 2), scale=1.0, order=[3, 2, 1, 0])
    x = all_binary((1, 2, 2))
    p = model.log_prob(x).exp().view(2, 2, 2, 2)  # p[x0, x1, x2, x3] (pixel index, not order)
    first = model.order[:2].tolist()  # the two pixels kept
    given = torch.zeros(20_000, 1, 2, 2, dtype=torch.float64)
    given.view(-1, 4)[:, first[0]] = 1  # first pixel in the order on, the second off
    torch.manual_seed(2)
    samples = model.sample(20_000, given=given, n_given=2).view(-1, 4)
    assert torch.equal(samples[:, first], given.view(-1, 4)[:, first])
    rest = [i for i in range(4) if i not in first]
    joint = p.permute(*first, *rest)[1, 0]  # p(rest, x_first = (1, 0)) as (2, 2)
    conditional = (joint / joint.sum()).flatten()
    index = (samples[:, rest] * torch.tensor([2.0, 1.0], dtype=torch.float64)).sum(1).long()
    freq = torch.bincount(index, minlength=4).double() / len(samples)
    assert 0.5 * (freq - conditional).abs().sum() < 0.03


def test_transformer_cache_gives_the_logits_and_the_samples_of_recomputation():
    model = tiny("transformer", (1, 5, 5), scale=1.0)
    x = torch.randint(0, 2, (3, 25)).double()
    cache = []
    chunks = [model.cached_logits(x, 0, 7, cache)]  # a prefill of 7 positions, then one at a time
    chunks += [model.cached_logits(x, t, t + 1, cache) for t in range(7, 25)]
    assert torch.allclose(torch.cat(chunks, 1), model.conditional_logits(x), atol=1e-12)
    assert cache[0][0].shape == (3, 2, 25, 4)  # keys of all 25 positions, 2 heads of 4
    torch.manual_seed(5)
    cached = model.sample(200, cache=True)
    torch.manual_seed(5)
    recomputed = model.sample(200, cache=False)
    assert torch.equal(cached, recomputed) and 0.05 < cached.mean() < 0.95
    completions = []
    for cache in (True, False):  # completion: the 10 given pixels are one prefill of the cache
        torch.manual_seed(6)
        completions.append(model.sample(50, given=cached[:50], n_given=10, cache=cache))
    assert torch.equal(*completions)
    assert torch.equal(completions[0].flatten(1)[:, :10], cached[:50].flatten(1)[:, :10])
    with pytest.raises(ValueError, match="no sampling cache"):
        tiny("pixelcnn", (1, 3, 3)).sample(2, cache=True)


def test_completion_refuses_bad_arguments():
    model = tiny("gated_pixelcnn", (1, 3, 3))
    x = all_binary((1, 3, 3))[:4]
    with pytest.raises(ValueError, match="n_given"):
        model.sample(4, given=x, n_given=10)
    with pytest.raises(ValueError, match="needs the pixels"):
        model.sample(4, n_given=3)
    with pytest.raises(ValueError, match="given= needs n_given"):
        model.sample(4, given=x)
    with pytest.raises(ValueError, match="3 images but 4"):
        model.sample(4, given=x[:3], n_given=3)
