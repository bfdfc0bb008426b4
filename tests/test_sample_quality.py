"""Sample-quality metrics (weeks 5-6): FID and KID against closed forms and brute force, the course's
MNIST classifier (trained once here, in quick mode, in a temporary folder), and sample_quality on real data."""
import hashlib
import json
import math
import shutil

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch

from dgmlib.data import DataUnavailableError, mnist
from dgmlib.metrics import classifier as clf
from dgmlib.metrics import (ClassifierCacheError, MNISTClassifier, extract_features, fid, frechet_distance, kid,
                            load_classifier, sample_quality)


def random_covariance(f, rng, scale=1.0):
    a = rng.standard_normal((f, f))
    return scale * (a @ a.T / f + 0.1 * np.eye(f))


def closed_form_commuting(mu1, a, mu2, b):
    """FID of N(mu1, Q diag(a) Q^T) and N(mu2, Q diag(b) Q^T): the square roots act on the eigenvalues."""
    return float(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))


# -- the Frechet distance -------------------------------------------------------------------
def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    a, b = rng.uniform(0.1, 4, 5), rng.uniform(0.1, 4, 5)
    expected = closed_form_commuting(mu1, a, mu2, b)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    # one dimension: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]]) == pytest.approx(9.0 + 1.0, rel=1e-12)


def test_frechet_distance_of_rotated_commuting_covariances_is_the_closed_form():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))  # a random rotation: full, non-diagonal covariances
    a, b = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    expected = closed_form_commuting(mu1, a, mu2, b)
    assert frechet_distance(torch.tensor(mu1), torch.tensor(s1), torch.tensor(mu2), torch.tensor(s2)) == \
        pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_general_covariances_matches_scipy_sqrtm():
    rng = np.random.default_rng(2)
    s1, s2 = random_covariance(7, rng), random_covariance(7, rng, scale=3.0)
    mu1, mu2 = rng.standard_normal(7), rng.standard_normal(7)
    root1 = scipy.linalg.sqrtm(s1).real
    cross = scipy.linalg.sqrtm(root1 @ s2 @ root1).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * cross)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    # (S1 S2)^1/2 has the same trace: a second, independent route
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
        np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real, rel=1e-8)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-9)


def test_fid_of_gaussian_samples_approaches_the_population_value():
    rng = np.random.default_rng(3)
    s1, s2 = random_covariance(3, rng), random_covariance(3, rng, scale=2.0)
    mu2 = np.array([1.0, -0.5, 0.25])
    x = rng.multivariate_normal(np.zeros(3), s1, size=40_000)
    y = rng.multivariate_normal(mu2, s2, size=40_000)
    assert fid(torch.tensor(x), torch.tensor(y)) == pytest.approx(frechet_distance(np.zeros(3), s1, mu2, s2),
                                                                  rel=0.03)


def test_fid_is_zero_for_equal_sets_symmetric_and_grows_with_a_mean_shift():
    x = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    y = torch.randn(300, 8, generator=torch.Generator().manual_seed(1)) * 1.5
    assert fid(x, x) == pytest.approx(0.0, abs=1e-8)
    assert fid(x, y) == pytest.approx(fid(y, x), rel=1e-9)
    shifts = [0.0, 0.5, 1.0, 2.0]
    values = [fid(x, x + s) for s in shifts]
    # a shift moves only the mean: FID(X, X + s) = F s^2 exactly
    assert values == pytest.approx([8 * s ** 2 for s in shifts], abs=1e-6)


# -- KID -------------------------------------------------------------------------------------
def brute_force_mmd2(x, y):
    """Unbiased MMD^2 with k(u, v) = (u.v / F + 1)^3, by explicit loops over pairs."""
    m, f = len(x), len(x[0])
    k = lambda u, v: (sum(ui * vi for ui, vi in zip(u, v)) / f + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_with_one_subset_of_everything_is_the_brute_force_unbiased_mmd():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 3)) + 0.3
    mean, std, _ = kid(x, y, num_subsets=1, subset_size=7)
    assert mean == pytest.approx(brute_force_mmd2(x.tolist(), y.tolist()), rel=1e-10)
    assert std == 0.0


def test_kid_is_near_zero_for_one_distribution_and_clearly_positive_for_two():
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(5000, 8, generator=g), torch.randn(5000, 8, generator=g)
    num_subsets = 50
    same_mean, same_std, same_error = kid(x, y, num_subsets=num_subsets, subset_size=100)
    # nearly independent subsets: their mean is within a few standard errors of 0 (a biased
    # estimate that kept the i = j terms would sit near +0.13 here)
    assert abs(same_mean) < 4 * same_std / math.sqrt(num_subsets)
    assert abs(same_mean) < 4 * same_error
    shifted_mean, shifted_std, _ = kid(x, y + 0.5, num_subsets=num_subsets, subset_size=100)
    assert shifted_mean > 0.1 and shifted_mean > 10 * shifted_std / math.sqrt(num_subsets)
    assert shifted_mean > 20 * abs(same_mean)


def test_kid_is_reproducible_and_follows_its_generator():
    x, y = torch.randn(200, 4), torch.randn(200, 4)
    assert kid(x, y, num_subsets=5, subset_size=50) == kid(x, y, num_subsets=5, subset_size=50)
    a = kid(x, y, num_subsets=5, subset_size=50, generator=torch.Generator().manual_seed(7))
    b = kid(x, y, num_subsets=5, subset_size=50, generator=torch.Generator().manual_seed(7))
    assert a == b


# -- bad input -------------------------------------------------------------------------------
def test_bad_features_and_covariances_are_refused():
    eye = np.eye(3)
    with pytest.raises(ValueError, match="same length"):
        frechet_distance(np.zeros(3), eye, np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), eye)
    with pytest.raises(ValueError, match="not symmetric"):
        frechet_distance(np.zeros(3), np.triu(np.ones((3, 3))), np.zeros(3), eye)
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.array([0, np.nan, 0]), eye, np.zeros(3), eye)
    x = torch.randn(10, 3)
    with pytest.raises(ValueError, match="at least 2"):
        fid(x[:1], x)
    with pytest.raises(ValueError, match="same F"):
        fid(x, torch.randn(10, 4))
    with pytest.raises(ValueError, match="NaN"):
        fid(x, torch.full((10, 3), float("inf")))
    with pytest.raises(ValueError, match="subset_size=11 is larger"):
        kid(x, x, subset_size=11)
    with pytest.raises(ValueError, match=">= 2"):
        kid(x, x, subset_size=1)


def test_bad_images_are_refused_with_what_to_do():
    model = MNISTClassifier()  # untrained: the checks come first
    good = torch.rand(4, 1, 28, 28)
    with pytest.raises(ValueError, match="divide 8-bit pixels by 255"):
        sample_quality(good * 255, good, classifier=model)
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        sample_quality(good, good * 2 - 1, classifier=model)
    with pytest.raises(ValueError, match="NaN"):
        sample_quality(torch.where(good > 0.5, float("nan"), good), good, classifier=model)
    with pytest.raises(ValueError, match=r"unsqueeze\(1\)"):
        sample_quality(good[:, 0], good, classifier=model)
    with pytest.raises(ValueError, match="at least 2"):
        sample_quality(good[:1], good, classifier=model)
    with pytest.raises(ValueError, match="float"):
        sample_quality((good * 255).to(torch.uint8), good, classifier=model)
    with pytest.raises(ValueError, match="subset_size=5 is larger"):
        sample_quality(good, good, classifier=model, subset_size=5)
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model.features(torch.rand(2, 1, 32, 32))


# -- the classifier: cache, checksum, read-only folders (no data needed) -------------------
def fake_trained(seed=0):
    torch.manual_seed(seed)
    model = MNISTClassifier().eval().requires_grad_(False)
    model.manifest = {"architecture": model.architecture(), "seed": seed, "test_accuracy": 0.1, "test_images": 10,
                      "train_seconds": 0.0}
    return model


def test_an_unwritable_folder_warns_once_and_keeps_the_classifier_in_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("DGM_QUICK", "1")
    calls = []
    monkeypatch.setattr(clf, "train_classifier", lambda **kw: calls.append(kw) or fake_trained())
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    root = blocker / "data"  # cannot be created: its parent is a file
    with pytest.warns(UserWarning, match="could not cache"):
        first = load_classifier(root, device="cpu")
    second = load_classifier(root, device="cpu")  # no second warning, no second training run
    assert len(calls) == 1
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(first(x), second(x)) and torch.equal(first(x), fake_trained()(x))
    assert not first.training and not any(p.requires_grad for p in first.parameters())
    clf._unsaved.clear()


def test_missing_classifier_without_build_says_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("DGM_QUICK", "1")
    with pytest.raises(FileNotFoundError, match="python -m dgmlib.metrics.classifier"):
        load_classifier(tmp_path, build=False)


def test_the_command_line_rebuilds_and_prints_the_checksum(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DGM_QUICK", "0")
    monkeypatch.setattr(clf, "train_classifier", lambda **kw: fake_trained())
    clf.main(["--root", str(tmp_path), "--quick", "--device", "cpu"])
    weights = tmp_path / clf.QUICK_FILE
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert f"sha256 {digest}" in capsys.readouterr().out
    assert not (tmp_path / clf.FULL_FILE).exists()  # --quick never touches the full one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist_classifier_quick.json", "mnist_classifier_quick.pt"]


# -- the classifier, trained once on the real data -----------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(root, classifier): a quick-mode classifier built by load_classifier in a fresh folder."""
    root = tmp_path_factory.mktemp("classifier")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DGM_QUICK", "1")
        try:
            model = load_classifier(root, device="cpu")
        except DataUnavailableError as error:
            pytest.skip(f"8-bit MNIST is not available (set DGMLIB_DATA to a folder with mnist.npz): {error}")
    return root, model


@pytest.fixture(scope="module")
def images():
    """Real images in [0, 1]: 2,000 test images with labels, 2,000 training images."""
    try:
        x_test, y_test = mnist("test")
        x_train, _ = mnist("train")
    except DataUnavailableError as error:
        pytest.skip(f"8-bit MNIST is not available (set DGMLIB_DATA to a folder with mnist.npz): {error}")
    pick = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(0))[:2000]
    return x_test[:2000] / 255, y_test[:2000], x_train[pick] / 255


def test_quick_classifier_is_accurate_and_its_manifest_describes_it(trained, images):
    root, model = trained
    x_test, y_test, _ = images
    with torch.no_grad():
        correct = (model(x_test).argmax(1) == y_test).float().mean().item()
    assert correct >= 0.95
    weights = root / clf.QUICK_FILE
    manifest = json.loads((root / "mnist_classifier_quick.json").read_text())
    assert manifest["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert manifest["test_accuracy"] == pytest.approx(correct, abs=1e-3)  # the same 2,000 images
    assert manifest["torch"] == torch.__version__ and manifest["seed"] == 0 and manifest["quick"] is True
    assert {"steps", "batch_size", "lr"} <= set(manifest["settings"])
    assert not (root / clf.FULL_FILE).exists()
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert model.features(x_test[:5]).shape == (5, 128)


def test_cached_classifier_reloads_with_identical_outputs(trained, images, monkeypatch):
    root, model = trained
    monkeypatch.setenv("DGM_QUICK", "1")
    again = load_classifier(root, device="cpu", build=False)
    x = images[0][:64]
    with torch.no_grad():
        assert torch.equal(model(x), again(x)) and torch.equal(model.features(x), again.features(x))
    monkeypatch.setenv("DGM_QUICK", "0")  # the quick file never stands in for the full one
    with pytest.raises(FileNotFoundError):
        load_classifier(root, build=False)


def test_a_tampered_classifier_file_is_refused(trained, tmp_path, monkeypatch):
    root, _ = trained
    monkeypatch.setenv("DGM_QUICK", "1")
    for name in (clf.QUICK_FILE, "mnist_classifier_quick.json"):
        shutil.copy(root / name, tmp_path / name)
    raw = bytearray((tmp_path / clf.QUICK_FILE).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / clf.QUICK_FILE).write_bytes(bytes(raw))
    with pytest.raises(ClassifierCacheError, match="python -m dgmlib.metrics.classifier"):
        load_classifier(tmp_path, build=False)
    (tmp_path / "mnist_classifier_quick.json").unlink()
    with pytest.raises(ClassifierCacheError, match="manifest"):
        load_classifier(tmp_path, build=False)


def test_real_digits_score_far_better_than_noise_and_blank_images(trained, images):
    _, model = trained
    x_test, y_test, x_train = images
    settings = dict(classifier=model, num_subsets=10, subset_size=500)
    real = sample_quality(x_test, x_train, **settings)
    noise = sample_quality(torch.rand(2000, 1, 28, 28, generator=torch.Generator().manual_seed(0)), x_train,
                           **settings)
    blank = sample_quality(torch.zeros(500, 1, 28, 28), x_train, **settings)
    assert real["fid"] < noise["fid"] / 20 and real["fid"] < blank["fid"] / 20
    assert real["kid"] < noise["kid"] / 20 and real["kid"] < blank["kid"] / 20
    assert real["confidence"] > 0.9
    assert real["class_entropy"] == pytest.approx(math.log(10), abs=0.05)  # about 200 of each digit
    assert blank["class_entropy"] == 0.0  # one image, one predicted class: a collapsed "model"
    # two digits in equal numbers: the entropy of the predicted-class histogram, near log 2
    two_digits = torch.cat([x_test[y_test == 1][:150], x_test[y_test == 7][:150]])
    two = sample_quality(two_digits, x_train, classifier=model, num_subsets=2)
    with torch.no_grad():
        counts = np.bincount(model(two_digits).argmax(1).numpy(), minlength=10)
    assert two["class_entropy"] == pytest.approx(scipy.stats.entropy(counts), rel=1e-9)
    assert math.log(2) - 0.01 < two["class_entropy"] < math.log(2) + 0.25  # a few misread digits add a little
    # the report is the features' FID: the same number through the public pieces
    features_s, _ = extract_features(x_test, model)
    features_r, _ = extract_features(x_train, model)
    assert real["fid"] == pytest.approx(fid(features_s, features_r), rel=1e-9)


def test_the_full_size_classifier_reaches_99_percent_on_the_whole_test_set(monkeypatch):
    """The feature extractor of every FID in the course, at full size: >= 99% on MNIST's 10,000 test images.

    Training it takes minutes on a CPU, so this checks the cached one (``python -m dgmlib.metrics.classifier``
    builds it, and the benchmarks build it on first use); where none is cached it is skipped, saying so.
    """
    monkeypatch.setenv("DGM_QUICK", "0")
    try:
        model = load_classifier(build=False, device="cpu")
        x_test, y_test = mnist("test")
    except (FileNotFoundError, DataUnavailableError) as error:
        pytest.skip(f"no full-size classifier cached (build it with python -m dgmlib.metrics.classifier): {error}")
    with torch.no_grad():
        correct = torch.cat([model(x / 255).argmax(1) for x in x_test.split(1000)]) == y_test
    accuracy = correct.float().mean().item()
    print(f"full-size MNIST classifier: test accuracy {accuracy:.4f} on {len(y_test)} images")
    assert accuracy >= 0.99
    assert model.manifest["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert model.manifest["quick"] is False and model.manifest["settings"]["steps"] == 2500
