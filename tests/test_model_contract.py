"""One contract for every registered model: a new family joins by registering."""
import pytest
import torch
from torch.distributions import constraints

from dgmlib.metrics import nll
from dgmlib.models import REGISTRY, Batch, GenerativeModel
from dgmlib.models.base import LOG_PROB_KINDS
from dgmlib.train import fit

NAMES = sorted(REGISTRY)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _build(name, device, n=6):
    torch.manual_seed(0)
    spec = REGISTRY[name]
    model = spec.build().to(device)
    x = spec.example(n, torch.Generator().manual_seed(1)).to(device)
    y = spec.labels(n, torch.Generator().manual_seed(2)).to(device) if spec.labels else None
    return model, x, y


def _labels_args(y):
    return () if y is None else (y,)


def test_registry_is_not_empty_and_covers_a_conditional_model():
    assert {"independent_bernoulli", "markov_chain_bernoulli", "gaussian_mixture", "made", "vae"} <= set(NAMES)
    assert any(REGISTRY[name].build().conditional for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_declares_the_contract_attributes(name):
    model, _, y = _build(name, "cpu")
    assert isinstance(model, GenerativeModel)
    assert model.log_prob_kind in LOG_PROB_KINDS
    assert isinstance(model.support, constraints.Constraint)
    assert isinstance(model.sample_needs_grad, bool)
    assert model.conditional == (REGISTRY[name].labels is not None) == (y is not None)
    if model.conditional:  # on labels, or on inputs of a fixed shape (image-to-image translation)
        assert (isinstance(model.num_classes, int) and model.num_classes >= 1) != (model.condition_shape is not None)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", NAMES)
def test_sample_and_log_prob_shapes(name, device):
    model, x, y = _build(name, device)
    samples = model.sample(5, *(() if y is None else (y[:5],)))
    assert samples.shape == (5, *model.event_shape) and samples.dtype == model.dtype
    assert samples.device.type == device and torch.isfinite(samples).all()
    assert model.support.check(samples).all(), "samples must lie in the model's support"
    assert samples.grad_fn is None and not samples.requires_grad, "samples carry no graph"
    if model.log_prob_kind != "none":
        log_p = model.log_prob(x, y)
        assert log_p.shape == (6,) and torch.isfinite(log_p).all()
        assert torch.isfinite(model.log_prob(samples, None if y is None else y[:5])).all()


LABELLED = [n for n in NAMES if REGISTRY[n].labels and REGISTRY[n].build().num_classes is not None]
INPUT_CONDITIONED = [n for n in NAMES if REGISTRY[n].labels and REGISTRY[n].build().condition_shape is not None]


@pytest.mark.parametrize("name", LABELLED)
def test_conditional_models_sample_for_given_labels(name):
    model, _, _ = _build(name, "cpu")
    one_label = model.sample(4, 1)
    assert one_label.shape == (4, *model.event_shape)
    with pytest.raises(ValueError, match="pass the labels"):
        model.sample(4)
    with pytest.raises(ValueError, match="labels must lie"):
        model.sample(2, torch.tensor([0, model.num_classes]))
    with pytest.raises(ValueError, match="expected 3 labels"):
        model.sample(3, torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize("name", INPUT_CONDITIONED)
def test_input_conditioned_models_check_their_conditions(name):
    model, x, y = _build(name, "cpu")
    assert model.sample(len(y), y).shape == x.shape
    with pytest.raises(ValueError, match="conditional on inputs"):
        model.sample(4)
    with pytest.raises(ValueError, match="floating-point"):
        model.sample(len(y), y.long())
    with pytest.raises(ValueError, match="expected 3 conditions"):
        model.sample(3, y)
    bad = y.clone()
    bad.view(len(y), -1)[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model.sample(len(y), bad)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", NAMES)
def test_loss_backward_gives_finite_gradients(name, device):
    model, x, y = _build(name, device)
    loss = model.loss(x, *_labels_args(y))
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", NAMES)
def test_train_step_updates_the_parameters_and_reports_detached_scalars(name):
    model, x, y = _build(name, "cpu")
    model.train()
    optimizers = model.configure_optimizers(1e-2)
    assert isinstance(optimizers, dict) and optimizers
    optimized = {id(p) for opt in optimizers.values() for group in opt.param_groups for p in group["params"]}
    assert optimized == {id(p) for p in model.parameters()}, "the optimizers must cover every parameter once"
    before = [p.detach().clone() for p in model.parameters()]
    result = model.train_step(Batch(x, y), optimizers, 0)
    assert isinstance(result, dict) and result
    for key, value in result.items():
        value = torch.as_tensor(value)
        assert value.dim() == 0 and torch.isfinite(value) and not value.requires_grad, key
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
    metrics = model.eval().validation_metrics(x, *_labels_args(y))
    assert metrics and all(isinstance(v, float) for v in metrics.values())


@pytest.mark.parametrize("name", NAMES)
def test_fit_trains_every_model_for_a_few_steps(name):
    model, x, y = _build(name, "cpu", n=16)
    data = x if y is None else torch.utils.data.TensorDataset(x, y)
    history = fit(model, data, steps=3, batch_size=8, device="cpu", progress=False, valid_data=data,
                  valid_every=2)
    assert history.step == [1, 2, 3] and all(len(v) == 3 for v in history.curves.values())
    assert history.valid_step == [2, 3]
    if model.log_prob_kind not in ("none", "unnormalized"):
        assert torch.isfinite(torch.tensor(float(nll(model, data))))


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_reproduces_log_prob(name):
    model, x, y = _build(name, "cpu")
    with torch.no_grad():  # move away from the initialisation so the round trip means something
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    torch.manual_seed(123)
    fresh = REGISTRY[name].build()
    fresh.load_state_dict(model.state_dict())
    if model.log_prob_kind == "none":  # a GAN: the same samples from the same seed
        model.eval(), fresh.eval()
        assert torch.allclose(seeded(fresh.sample, len(x), y), seeded(model.sample, len(x), y))
        return
    # stochastic estimates (log_prob_kind "estimate") reproduce under the same seed
    assert torch.allclose(seeded(fresh.log_prob, x, y), seeded(model.log_prob, x, y))


def seeded(fn, x, y, seed=7):
    torch.manual_seed(seed)
    return fn(x, y)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_gets_a_clear_error(name):
    model, x, y = _build(name, "cpu")
    with pytest.raises(ValueError, match="expects a batch of shape"):
        model.log_prob(x[0])  # a single example without its batch dimension
    with pytest.raises(TypeError, match="floating-point"):
        model.log_prob(x.long(), y)
    with pytest.raises(ValueError, match="positive integer"):
        model.sample(0)
    with pytest.raises(ValueError, match="empty batch"):  # one behaviour for every model
        model.log_prob(x[:0], None if y is None else y[:0])
    with pytest.raises(ValueError, match="empty batch"):
        model.loss(x[:0], *_labels_args(None if y is None else y[:0]))
    with pytest.raises(ValueError, match="float32 parameters"):  # float64 data into a float32 model
        model.log_prob(x.double(), y)
    bad = x.clone()
    bad.view(len(x), -1)[0, 0] = float("nan")
    with pytest.raises(ValueError, match="binarize first|NaN"):
        model.log_prob(bad, y)
    if y is None:
        with pytest.raises(ValueError, match="unconditional"):
            model.log_prob(x, torch.zeros(len(x), dtype=torch.long))
    elif model.num_classes is not None:
        with pytest.raises(ValueError, match="pass the labels"):
            model.log_prob(x)
        with pytest.raises(ValueError, match="integer tensor"):
            model.log_prob(x, y.float())
    else:  # conditioned on inputs (translation)
        with pytest.raises(ValueError, match="conditional on inputs"):
            model.loss(x)
        with pytest.raises(ValueError, match="floating-point"):
            model.loss(x, y.long())
