"""Unit tests of the detection layer: networks, heatmaps, loss, decoding, metrics, crops, video, ONNX."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from kinelift.core import get_keypoint_set
from kinelift.detect.backbone import ResNet18Backbone, load_backbone
from kinelift.detect.config import DetectorConfig, detector_config_from_dict, load_detector_config
from kinelift.detect.heatmaps import decode_heatmaps, flip_heatmaps, gaussian_heatmaps, joints_mse_loss
from kinelift.detect.metrics import coco_keypoint_ap, oks, pck, torso_sizes
from kinelift.detect.networks import build_detector, fold_batch_norms
from kinelift.detect.people import iou, match_boxes, read_detection_boxes
from kinelift.detect.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    apply_affine,
    augmentation_matrices,
    crop_frames,
    crop_matrices,
    heatmap_to_input,
    input_to_heatmap,
    invert_affine,
    warp_batch,
    warp_image,
)  # fmt: skip
from kinelift.errors import FileFormatError, ShapeError, UnknownNameError, ValueRangeError


def tiny(arch: str = "simple_baseline", keypoints: str = "LOWER-6", size=(64, 64)) -> torch.nn.Module:
    return build_detector(DetectorConfig(architecture=arch, keypoints=keypoints, input_size=size, width=0.25, head_channels=16))


# --- networks ------------------------------------------------------------------------------------


def test_backbone_feature_shapes_for_256x192():
    feats = ResNet18Backbone()(torch.zeros(1, 3, 256, 192))
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 64, 48), (128, 32, 24), (256, 16, 12), (512, 8, 6)]


def test_backbone_uses_torchvision_parameter_names():
    names = set(ResNet18Backbone().state_dict())
    for expected in ("conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                     "layer2.0.downsample.1.running_var", "layer4.1.bn2.bias"):  # fmt: skip
        assert expected in names
    assert sum(p.numel() for p in ResNet18Backbone().parameters()) == 11176512  # torchvision resnet18 without fc


@pytest.mark.parametrize("arch", ["simple_baseline", "fpn", "dilated", "fpn_attention"])
@pytest.mark.parametrize("keypoints,size", [("LOWER-6", (128, 96)), ("LSP-14", (96, 64)), ("COCO-17", (64, 128))])
def test_every_architecture_gives_quarter_resolution_heatmaps(arch, keypoints, size):
    out = tiny(arch, keypoints, size)(torch.zeros(2, 3, *size))
    assert tuple(out.shape) == (2, len(get_keypoint_set(keypoints)), size[0] // 4, size[1] // 4)


def test_simple_baseline_full_size_layout():
    net = build_detector(DetectorConfig())
    assert tuple(net.backbone(torch.zeros(1, 3, 256, 192))[3].shape[1:]) == (512, 8, 6)
    assert tuple(net.deconv(torch.zeros(1, 512, 8, 6)).shape[1:]) == (256, 64, 48)


@pytest.mark.parametrize("arch", ["simple_baseline", "fpn", "dilated", "fpn_attention"])
def test_folding_the_batch_norms_keeps_the_heatmaps_and_the_original(arch):
    """``fold_batch_norms``: no batch norm left, the same heatmaps (float32 rounding) with trained-
    looking statistics, and the given network untouched (still normalising, same parameters)."""
    net = tiny(arch, "LOWER-6", (128, 96)).eval()
    generator = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(generator=generator)
            m.running_var.uniform_(0.3, 3.0, generator=generator)
            m.weight.data.normal_(generator=generator)
            m.bias.data.normal_(generator=generator)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    folded = fold_batch_norms(net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(3, 3, 128, 96, generator=generator)
    with torch.no_grad():
        reference, result = net(x), folded(x)
    torch.testing.assert_close(result, reference, rtol=1e-4, atol=1e-4 * float(reference.abs().max()))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_convolution_read_twice_is_not_folded(caplog):
    """A convolution whose output also goes elsewhere than its batch norm cannot carry the norm:
    the check on the example finds the difference and the network comes back unfolded."""

    class Shared(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.norm = torch.nn.BatchNorm2d(4)
            self.config = DetectorConfig(keypoints="LOWER-6", input_size=(32, 32))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return self.norm(y) + y

    net = Shared().eval()
    net.norm.running_mean.fill_(2.0)
    net.norm.running_var.fill_(4.0)
    with caplog.at_level("WARNING"):
        folded = fold_batch_norms(net)
    assert "nothing folded" in caplog.text
    assert isinstance(folded.norm, torch.nn.BatchNorm2d)
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(folded(x), net(x))


def test_network_rejects_bad_input_shape():
    with pytest.raises(ShapeError, match="multiples of 32"):
        tiny()(torch.zeros(1, 3, 60, 64))


def test_load_backbone_from_a_torchvision_style_file(tmp_path):
    source = ResNet18Backbone()
    state = {f"module.{k}": v + 0.5 if v.is_floating_point() else v for k, v in source.state_dict().items()}
    state["fc.weight"] = torch.zeros(1000, 512)
    torch.save({"state_dict": state}, tmp_path / "r18.pth")
    net = build_detector(DetectorConfig(keypoints="LSP-14"))
    loaded = load_backbone(net, tmp_path / "r18.pth")
    assert len(loaded) == len(source.state_dict())
    assert torch.equal(net.backbone.conv1.weight, source.conv1.weight + 0.5)
    half = build_detector(DetectorConfig(width=0.5))
    with pytest.raises(FileFormatError, match="another shape"):
        load_backbone(half, tmp_path / "r18.pth")
    with pytest.raises(FileFormatError, match="not found"):
        load_backbone(net, tmp_path / "none.pth")


# --- heatmaps, loss, decoding ---------------------------------------------------------------------


def test_gaussian_targets_peak_at_the_point_and_weights():
    points = torch.tensor([[[3.0, 5.0], [100.0, 2.0], [4.0, 4.0]]])
    maps, weight = gaussian_heatmaps(points, torch.tensor([[True, True, False]]), (16, 12), sigma=2.0)
    assert weight.tolist() == [[1.0, 0.0, 0.0]]  # off the map, unlabelled
    assert float(maps[0, 0, 5, 3]) == 1.0 and float(maps[0, 0, 5, 5]) == pytest.approx(np.exp(-4 / 8))
    assert float(maps[0, 1:].abs().sum()) == 0.0


@pytest.mark.parametrize("refine,tol", [("dark", 0.02), ("quarter", 0.26), (None, 0.5)])
def test_decoding_recovers_subpixel_positions(refine, tol):
    rng = np.random.default_rng(1)
    points = torch.as_tensor(rng.uniform(6, 18, (4, 5, 2)))  # DARK's blur is biased within its radius (5 px) of a border
    maps, _ = gaussian_heatmaps(points, torch.ones(4, 5, dtype=torch.bool), (24, 24), sigma=2.0)
    xy, score = decode_heatmaps(maps, refine=refine)
    assert float((xy.double() - points).abs().max()) <= tol
    assert torch.all(score > 0.8)


def test_decoding_errors():
    with pytest.raises(ValueRangeError):
        decode_heatmaps(torch.zeros(1, 1, 4, 4), refine="taylor")
    with pytest.raises(ShapeError):
        decode_heatmaps(torch.zeros(4, 4))


def test_flip_is_exact_between_input_and_heatmap_pixels():
    ks = get_keypoint_set("LOWER-6")
    points = torch.tensor([[[2.3, 4.0], [7.7, 3.0], [1.0, 1.0], [5.0, 5.0], [3.0, 9.0], [6.5, 2.5]]], dtype=torch.float64)
    maps, _ = gaussian_heatmaps(points, torch.ones(1, 6, dtype=torch.bool), (12, 10), sigma=1.5)
    mirrored = points.clone()
    mirrored[..., 0] = 10 - 1 - mirrored[..., 0]
    maps_m, _ = gaussian_heatmaps(mirrored[:, list(ks.flip_indices())], torch.ones(1, 6, dtype=torch.bool), (12, 10), sigma=1.5)
    assert torch.allclose(flip_heatmaps(maps_m, ks.flip_indices()), maps)
    # input width 40 -> heatmap width 10: mirroring in input pixels is mirroring in heatmap pixels
    x_in = heatmap_to_input(points[..., 0])
    assert torch.allclose(input_to_heatmap(40 - 1 - x_in), 10 - 1 - points[..., 0])


def test_joints_mse_loss_normalisation_by_hand():
    pred = torch.zeros(1, 2, 2, 2)
    target = torch.ones(1, 2, 2, 2)
    weight = torch.tensor([[1.0, 0.0]])
    assert float(joints_mse_loss(pred, target, weight)) == pytest.approx(0.5)  # one visible joint, error 1
    assert float(joints_mse_loss(pred, target, weight, normalize_by_visible=False)) == pytest.approx(0.25)
    with pytest.raises(ShapeError):
        joints_mse_loss(pred, target, torch.ones(2))


def test_loss_and_targets_gradcheck_float64():
    pred = torch.rand(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    target = torch.rand(2, 3, 4, 5, dtype=torch.float64)
    weight = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: joints_mse_loss(p, target, weight), (pred,))
    points = torch.tensor([[[1.3, 2.2], [3.1, 0.7]]], dtype=torch.float64, requires_grad=True)
    labelled = torch.ones(1, 2, dtype=torch.bool)
    assert torch.autograd.gradcheck(lambda p: gaussian_heatmaps(p, labelled, (4, 5), sigma=1.0)[0], (points,))


# --- metrics --------------------------------------------------------------------------------------


def test_pck_hand_computed():
    target = np.zeros((3, 2, 2))
    pred = target.copy()
    pred[0, 0] = [3, 4]  # 5 px
    pred[1, 1] = [np.nan, np.nan]
    labelled = np.array([[True, True], [True, True], [False, True]])
    per_joint, overall = pck(pred, target, labelled, thresholds=np.array([5.0, 1.0, 1.0]))
    assert per_joint.tolist() == [1.0, 2 / 3]
    assert overall == pytest.approx(4 / 5)
    _, strict = pck(pred, target, labelled, thresholds=4.9)
    assert strict == pytest.approx(3 / 5)


def test_torso_size_is_right_shoulder_to_left_hip():
    kp = np.zeros((1, 14, 2))
    ks = get_keypoint_set("LSP-14")
    kp[0, ks.index("right_shoulder")] = [3, 0]
    kp[0, ks.index("left_hip")] = [0, 4]
    assert torso_sizes(kp, "LSP-14").tolist() == [5.0]
    with pytest.raises(UnknownNameError):
        torso_sizes(np.zeros((1, 6, 2)), "LOWER-6")


def test_oks_and_ap_hand_computed():
    gt = np.random.default_rng(0).uniform(0, 100, (2, 17, 2))
    labelled = np.ones((2, 17), bool)
    sim = oks(gt, gt, labelled, np.array([1000.0, 1000.0]))
    assert np.allclose(np.diag(sim), 1.0)
    # one keypoint off by d: exp(-d^2 / (2 s^2 k^2)) / 17 for the others' 1s
    moved = gt[:1].copy()
    moved[0, 0] += [3.0, 4.0]
    k = 2 * 0.026
    assert oks(moved, gt[:1], labelled[:1], np.array([100.0]))[0, 0] == pytest.approx((16 + np.exp(-25 / (2 * 100 * k**2))) / 17)
    far = gt[:1] + 500
    preds = [(np.concatenate([gt[:1], far, gt[1:]]), np.array([0.9, 0.8, 0.7]))]
    ap = coco_keypoint_ap(preds, [(gt, labelled, np.array([1000.0, 1000.0]))])
    # TP, FP, TP: interpolated precision 1 up to recall 0.5, then 2/3 (51 and 50 of 101 recall points)
    assert ap["AP"] == pytest.approx((51 + 50 * 2 / 3) / 101)
    assert ap["AP50"] == ap["AP75"] == ap["AP"]


# --- crops and augmentation -----------------------------------------------------------------------


def test_crop_matrix_roundtrip_and_aspect():
    boxes = np.array([[10.0, 20.0, 30.0, 40.0], [0.0, 0.0, 80.0, 20.0]])
    m = crop_matrices(boxes, (64, 48), rotation=np.array([0.3, -0.2]), scale=np.array([1.1, 0.9]))
    pts = np.random.default_rng(0).uniform(0, 50, (2, 5, 2))
    assert np.allclose(apply_affine(apply_affine(pts, m), invert_affine(m)), pts)
    wide = crop_matrices(boxes[1:], (64, 48), margin=1.0)  # 80 wide -> height 80/0.75 fills the crop width
    corners = apply_affine(np.array([[[0.0, 10.0], [80.0, 10.0]]]), wide)
    assert corners[0, 1, 0] - corners[0, 0, 0] == pytest.approx(48 * 80 / (80 / 0.75) / 0.75, rel=1e-9)
    with pytest.raises(ShapeError):
        crop_matrices(np.zeros((2, 3)), (64, 48))


def test_batched_warp_matches_opencv():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 255, (50, 40, 3)).astype(np.uint8)
    m = crop_matrices(np.array([[5.0, 5.0, 25.0, 35.0]]), (32, 32), rotation=np.array([0.2]))
    ref = warp_image(image, m[0], (32, 32)).astype(float)
    out = warp_batch(torch.as_tensor(image).permute(2, 0, 1)[None].double(), torch.as_tensor(m), (32, 32))[0].permute(1, 2, 0).numpy()
    from scipy.ndimage import binary_erosion

    inside = binary_erosion((ref > 0).all(-1), iterations=2)  # away from the border, which OpenCV versions blend differently
    assert inside.sum() > 400
    assert np.abs(out - ref)[inside].max() < 255 / 64 + 0.5  # OpenCV 4 rounds its bilinear weights to 1/32


def test_antialiased_warp_of_a_big_downscale_is_the_block_mean():
    """Cropping 4x smaller averages 4x4 blocks first: a fine checkerboard becomes flat grey, not aliasing."""
    board = (np.indices((256, 256)).sum(0) % 2 * 255.0)[None, None].repeat(3, 1)
    m = crop_matrices(np.array([[0.0, 0.0, 256.0, 256.0]]), (60, 60), margin=1.0)  # 4.3x smaller
    smooth = warp_batch(torch.as_tensor(board), torch.as_tensor(m), (60, 60))
    aliased = warp_batch(torch.as_tensor(board), torch.as_tensor(m), (60, 60), antialias=False)
    assert float(smooth[..., 2:-2, 2:-2].std()) < 1.0 and float(smooth.mean()) == pytest.approx(127.5, abs=3)
    assert float(aliased[..., 2:-2, 2:-2].std()) > 20.0


def test_crops_of_frame_regions_equal_the_whole_frame_warp():
    """``crop_frames`` reads only each crop's region (shifted matrix, antialias blocks on the
    frame's grid) and gives the whole-frame warp's pixels: people large and small, at the border,
    and a crop outside the frame (zeros)."""
    rng = np.random.default_rng(0)
    frames = torch.from_numpy(rng.integers(0, 256, (2, 360, 640, 3), dtype=np.uint8))
    boxes = np.array([[50, 25, 150, 300], [550, 150, 200, 250], [-400, -400, 50, 50], [300, 100, 30, 60], [0, 0, 640, 360]], float)
    index = np.array([0, 1, 0, 1, 0])
    m = crop_matrices(boxes, (96, 64), rotation=np.array([0.0, 0.3, 0.0, 0.0, -0.2]))
    crops = crop_frames(frames, index, m, (96, 64))
    for i, f in enumerate(index):
        whole = warp_batch(frames[f].permute(2, 0, 1)[None].float() / 255.0, torch.as_tensor(m[i:i + 1], dtype=torch.float32), (96, 64))
        assert torch.allclose(crops[i], whole[0], atol=1e-4), i
    assert float(crops[2].abs().max()) == 0.0 and float(crops[0].std()) > 0.01
    with pytest.raises(ShapeError, match="frames/matrices"):
        crop_frames(frames, index[:2], m, (96, 64))


def test_augmentation_flip_mirrors_about_the_crop_centre():
    m, flipped = augmentation_matrices(200, (64, 48), scale=0.0, rotation_deg=0.0, flip=0.5, rng=np.random.default_rng(3))
    p = np.array([[[10.0, 20.0]]]).repeat(200, 0)
    out = apply_affine(p, m)
    assert 60 < flipped.sum() < 140
    assert np.allclose(out[flipped, 0, 0], 47 - 10.0) and np.allclose(out[~flipped, 0, 0], 10.0)


# --- boxes, config --------------------------------------------------------------------------------


def test_iou_and_matching():
    a = np.array([[0, 0, 10, 10], [100, 100, 10, 10]])
    b = np.array([[101, 100, 10, 10], [1, 0, 10, 10], [50, 50, 5, 5]])
    assert iou(a, a).diagonal().tolist() == [1.0, 1.0]
    assert sorted(match_boxes(a, b)) == [(0, 1), (1, 0)]


def test_detection_boxes_file(tmp_path):
    path = tmp_path / "det.json"
    path.write_text('[{"image_id": 0, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.9}, '
                    '{"image_id": 0, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.1}]')  # fmt: skip
    assert read_detection_boxes(path)[0].tolist() == [[1, 2, 3, 4]]
    path.write_text('[{"image_id": 0, "bbox": [1, 2]}]')
    with pytest.raises(FileFormatError, match="detection 0"):
        read_detection_boxes(path)


def test_config_validation_and_toml(tmp_path):
    assert detector_config_from_dict({"model": {"input_size": [128, 96]}}).model.heatmap_size == (32, 24)
    with pytest.raises(ValueRangeError, match="multiple of 32"):
        DetectorConfig(input_size=(100, 96))
    with pytest.raises(UnknownNameError):
        DetectorConfig(architecture="hrnet")
    (tmp_path / "c.toml").write_text('[data]\nlsp = "lsp"\n[training]\nepoch = 3\n')
    with pytest.raises(UnknownNameError, match="epoch"):
        load_detector_config(tmp_path / "c.toml")
    (tmp_path / "c.toml").write_text('[data]\nlsp = "lsp"\n')
    assert load_detector_config(tmp_path / "c.toml").data.lsp == str(tmp_path / "lsp")


def test_every_shipped_detector_configuration_loads():
    from pathlib import Path

    import kinelift.detect

    files = sorted((Path(kinelift.detect.__file__).parent / "configs").glob("*.toml"))
    assert len(files) >= 3
    for path in files:
        setup = load_detector_config(path)
        assert setup.model.keypoints == "LSP-14" and all(Path(f).is_absolute() for f in setup.data.frames)


def test_cosine_schedule_and_validation_of_the_training_options():
    from kinelift.detect.config import DetectorTrainingConfig

    cosine = DetectorTrainingConfig(epochs=5, lr=2e-3, lr_schedule="cosine")
    rates = [cosine.learning_rate(e) for e in range(5)]
    assert rates[0] == pytest.approx(2e-3) and rates[-1] == pytest.approx(2e-5) and rates[2] == pytest.approx((2e-3 + 2e-5) / 2)
    assert all(a > b for a, b in zip(rates, rates[1:]))
    step = DetectorTrainingConfig(lr=1e-3, lr_steps=(2, 4))
    assert [step.learning_rate(e) for e in (0, 1, 2, 4)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-5])
    with pytest.raises(ValueRangeError, match="lr_schedule"):
        DetectorTrainingConfig(lr_schedule="linear")
    with pytest.raises(ValueRangeError, match="ema_decay"):
        DetectorTrainingConfig(ema_decay=1.0)


def _four_people(tmp_path, *, seed: int):
    """Crops (64x64) of one noise image labelled four times with the same LOWER-6 legs."""
    import cv2

    from kinelift.detect.crops import build_crops
    from kinelift.detect.datasets import PoseSamples

    path = str(tmp_path / "a.png")
    cv2.imwrite(path, np.random.default_rng(seed).integers(0, 255, (100, 80, 3), dtype=np.uint8))
    points = np.array([[30, 40], [50, 40], [30, 60], [50, 60], [30, 80], [50, 80]], float)
    samples = PoseSamples((path,) * 4, np.repeat(points[None], 4, 0), np.ones((4, 6), bool), np.ones((4, 6), bool),
                          np.array([[20.0, 20.0, 40.0, 70.0]] * 4), "LOWER-6")  # fmt: skip
    return build_crops(samples, (64, 64), progress=False)


def test_training_with_a_weight_average_saves_the_average_and_resumes_it(tmp_path):
    """With ``ema_decay`` the saved detector is the running average (not the last step's weights),
    the checkpoint carries it, and a resumed run goes on from it."""
    from kinelift.detect.training import train_detector
    from kinelift.detect.weights import load_detector

    crops = _four_people(tmp_path, seed=0)

    def setup(epochs, schedule="step", out="run"):
        return detector_config_from_dict({"model": {"keypoints": "LOWER-6", "input_size": [64, 64], "width": 0.25, "head_channels": 16},
                                          "training": {"epochs": epochs, "batch_size": 2, "out_dir": str(tmp_path / out),
                                                       "ema_decay": 0.5, "lr_schedule": schedule, "lr": 1e-2, "lr_steps": [2]}})  # fmt: skip

    train_detector(setup(2), train=crops, validation=None, progress=False)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    name = "head.weight"
    averaged = state["averaged"]["module." + name]
    assert not torch.allclose(averaged, state["model"][name])  # the average lags the last step
    saved = load_detector(tmp_path / "run" / "detector.pt").state_dict()[name]
    assert torch.allclose(saved.float(), averaged.float(), atol=1e-3)  # float16 file
    result = train_detector(setup(3), train=crops, validation=None, progress=False)  # a step schedule's rates do not depend on the epochs
    assert result.epochs == 3
    log = (tmp_path / "run" / "log.csv").read_text().strip().splitlines()
    assert len(log) == 4 and float(log[-1].split(",")[2]) == pytest.approx(1e-3)  # times 0.1 from epoch 2
    train_detector(setup(1, "cosine", "cosine"), train=crops, validation=None, progress=False)
    with pytest.raises(ValueRangeError, match="settings changed: training.epochs: 1 -> 2"):  # a cosine's rates would change under it
        train_detector(setup(2, "cosine", "cosine"), train=crops, validation=None, progress=False)


def test_keep_last_saves_the_last_epoch_whatever_the_validation_says(tmp_path, monkeypatch):
    import kinelift.detect.training as training
    from kinelift.detect.weights import load_detector

    crops = _four_people(tmp_path, seed=0)
    for keep, epoch in (("last", 3), ("best", 1)):
        scores = iter([0.9, 0.5, 0.2])  # the validation falls epoch by epoch
        monkeypatch.setattr(training, "evaluate_detector", lambda *a, **k: {"pck02_torso_lower": next(scores)})
        setup = detector_config_from_dict({"model": {"keypoints": "LOWER-6", "input_size": [64, 64], "width": 0.25, "head_channels": 16},
                                           "training": {"epochs": 3, "batch_size": 2, "out_dir": str(tmp_path / keep), "ema_decay": 0.5,
                                                        "lr": 1e-2, "keep": keep}})  # fmt: skip
        result = training.train_detector(setup, train=crops, validation=crops, progress=False)
        state = torch.load(tmp_path / keep / "checkpoint.pt", weights_only=True)
        saved = load_detector(tmp_path / keep / "detector.pt").state_dict()["head.weight"].float()
        last = state["averaged"]["module.head.weight"].float()
        assert result.metrics["epoch"] == epoch and torch.allclose(saved, last, atol=1e-3) == (keep == "last")
    with pytest.raises(ValueRangeError, match="keep"):
        detector_config_from_dict({"training": {"keep": "first"}})


def test_fine_tuning_starts_from_the_given_weights_and_refuses_another_network(tmp_path):
    """``init_from`` loads a weights file of the same network before the first step (the first
    epoch of a tiny learning rate stays next to it); another network's weights are refused by name;
    video degradations run inside the training batches."""
    from kinelift.detect.training import train_detector
    from kinelift.detect.weights import load_detector, save_detector

    crops = _four_people(tmp_path, seed=1)
    start = tiny()
    torch.nn.init.normal_(start.head.weight, std=0.5)  # far from a fresh network's 0.001
    save_detector(start, tmp_path / "start.pt")
    model = {"keypoints": "LOWER-6", "input_size": [64, 64], "width": 0.25, "head_channels": 16}
    training = {"epochs": 1, "batch_size": 2, "lr": 1e-7, "video": 1.0, "init_from": str(tmp_path / "start.pt")}
    result = train_detector(detector_config_from_dict({"model": model, "training": {**training, "out_dir": str(tmp_path / "a")}}),
                            train=crops, validation=None, progress=False)  # fmt: skip
    tuned = load_detector(result.weights).head.weight
    assert torch.allclose(tuned.float(), start.head.weight.detach().half().float(), atol=1e-3)
    with pytest.raises(ValueRangeError, match="init_from"):
        train_detector(detector_config_from_dict({"model": {**model, "head_channels": 32},
                                                  "training": {**training, "out_dir": str(tmp_path / "b")}}),
                       train=crops, validation=None, progress=False)  # fmt: skip
    with pytest.raises(ValueRangeError, match="video"):
        detector_config_from_dict({"training": {"video": 1.5}})


def test_video_degradation_blurs_and_keeps_the_range():
    from kinelift.detect.degrade import degrade_like_video

    edge = torch.zeros(8, 3, 64, 48)
    edge[..., 24:] = 1.0  # a sharp horizontal-intensity edge
    out = degrade_like_video(edge, rng=np.random.default_rng(0), probability=1.0)
    assert out.shape == edge.shape and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert torch.equal(edge[:, :, :, :], torch.cat([torch.zeros(8, 3, 64, 24), torch.ones(8, 3, 64, 24)], dim=3))  # input unchanged
    changed = (out - edge).abs().flatten(1).amax(1)
    assert int((changed > 0.05).sum()) >= 6  # nearly every crop drew at least one visible degradation
    assert torch.equal(degrade_like_video(edge, rng=np.random.default_rng(0), probability=0.0), edge)
    with pytest.raises(ShapeError):
        degrade_like_video(edge[0], rng=np.random.default_rng(0))
    with pytest.raises(ValueRangeError, match="probability"):
        degrade_like_video(edge, rng=np.random.default_rng(0), probability=2.0)


# --- video and ONNX -------------------------------------------------------------------------------


def write_video(path, frames: np.ndarray, times_ms: list[int], *, rotation: int = 0) -> None:
    """``frames`` as stored; ``rotation``: the display rotation (deg counterclockwise) a phone records."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for frame, t in zip(frames, times_ms):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts, vf.time_base = t, Fraction(1, 1000)
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_read_ahead_keeps_order_raises_the_producers_error_and_stops_when_closed():
    import threading
    import time

    from kinelift.detect.video import read_ahead

    def numbers(fail: bool):
        for i in range(6):
            time.sleep(0.005)
            yield i
        if fail:
            raise FileFormatError("clip.mp4", "decoding failed", expected="a readable video")

    assert list(read_ahead(numbers(False))) == list(range(6))
    got = []
    with pytest.raises(FileFormatError, match="decoding failed"):
        for i in read_ahead(numbers(True)):
            got.append(i)
    assert got == list(range(6))  # every item before the error arrives
    closed = threading.Event()

    def endless():
        try:
            while True:
                yield 1
        finally:
            closed.set()

    items = read_ahead(endless(), depth=1)
    assert next(items) == 1
    items.close()
    assert closed.wait(2.0)  # the producer stopped and closed its source
    with pytest.raises(ValueRangeError, match="depth"):
        next(read_ahead(iter([]), depth=0))


def test_video_keeps_variable_frame_times_and_given_boxes_link(tmp_path):
    from kinelift.detect import detect_tracks

    times = [0, 33, 80, 100, 160]
    write_video(tmp_path / "v.mp4", np.zeros((5, 96, 64, 3), np.uint8), times)
    boxes = {0: [[5, 5, 20, 40], [40, 40, 20, 40]], 1: [[41, 40, 20, 40], [6, 5, 20, 40]], 3: [[6, 6, 20, 40]]}
    tracks = detect_tracks(tmp_path / "v.mp4", detector=tiny(), boxes=boxes, progress=False, chunk=2, min_frames=1, min_track_confidence=0.0,
                           min_peak_confidence=0.0)  # fmt: skip
    assert len(tracks) == 2
    assert np.allclose(tracks[0].time, np.array(times) / 1000)
    present = [np.isfinite(t.positions[:, 0, 0]) for t in tracks]
    assert present[0].tolist() == [True, True, False, True, False] and present[1].tolist() == [True, True, False, False, False]
    # by default, short-lived tracks (and low-confidence ones: an untrained network's) are dropped
    assert detect_tracks(tmp_path / "v.mp4", detector=tiny(), boxes=boxes, progress=False, chunk=2) == []
    assert len(detect_tracks(tmp_path / "v.mp4", detector=tiny(), boxes=boxes, progress=False, chunk=2, min_frames=3,
                             min_track_confidence=0.0, min_peak_confidence=0.0)) == 1  # fmt: skip
    # an untrained network never sees anyone clearly: its tracks are dropped as background texture
    assert detect_tracks(tmp_path / "v.mp4", detector=tiny(), boxes=boxes, progress=False, chunk=2, min_frames=3,
                         min_track_confidence=0.0) == []  # fmt: skip
    with pytest.raises(ValueRangeError, match="min_track_confidence"):
        detect_tracks(tmp_path / "v.mp4", detector=tiny(), boxes=boxes, progress=False, min_track_confidence=1.5)
    with pytest.raises(ValueRangeError, match="min_peak_confidence"):
        detect_tracks(tmp_path / "v.mp4", detector=tiny(), boxes=boxes, progress=False, min_peak_confidence=-0.1)


@pytest.mark.skipif(not hasattr(__import__("av").video.stream.VideoStream, "set_display_rotation"),
                    reason="this PyAV cannot write a display rotation")  # fmt: skip
def test_a_phone_video_s_display_rotation_turns_its_frames_upright(tmp_path):
    """A phone filming in portrait stores landscape frames and a display rotation: the frames come
    out as players (and OpenCV) show them, and the frame size says so."""
    import cv2

    from kinelift.detect.video import frame_size, iter_frames

    upright = np.full((3, 96, 64, 3), 40, np.uint8)  # portrait, as shown
    upright[:, 8:32, 8:24] = 250  # a bright patch at the top left
    upright[:, 80:, :, 2] = 200  # a blue band at the bottom
    for rotation in (90, -90, 180):
        turns = {90: 1, -90: 3, 180: 2}[rotation]
        path = tmp_path / f"r{rotation}.mp4"
        write_video(path, np.stack([np.rot90(f, -turns) for f in upright]), [0, 33, 67], rotation=rotation)  # as the phone stores them
        frames = np.concatenate([f for f, _ in iter_frames(path)])
        assert frames.shape == upright.shape, rotation
        assert np.abs(frames.astype(int) - upright).mean() < 3.0, rotation
        assert frame_size(path) == (64, 96)
        capture = cv2.VideoCapture(str(path))  # OpenCV (FFmpeg's rule) shows the same picture
        ok, shown = capture.read()
        capture.release()
        assert ok and np.abs(shown[..., ::-1].astype(int) - frames[0]).mean() < 3.0, rotation
    write_video(tmp_path / "plain.mp4", upright, [0, 33, 67])
    assert frame_size(tmp_path / "plain.mp4") == (64, 96)
    assert np.abs(np.concatenate([f for f, _ in iter_frames(tmp_path / "plain.mp4")]).astype(int) - upright).mean() < 3.0


def test_the_frames_read_are_pyavs_rgb_pixels_also_where_ffmpeg_pads_its_rows(tmp_path):
    """The reader copies FFmpeg's RGB buffer straight into the chunk: a width whose rows FFmpeg pads
    (70 px: 210 bytes), chunks of 2 over 5 frames (the last one short), the same pixels and times
    as PyAV's own ``to_ndarray``; each chunk is an array of its own."""
    import av

    from kinelift.detect.video import iter_frames

    frames = np.random.default_rng(0).integers(0, 255, (5, 46, 70, 3), dtype=np.uint8)
    write_video(tmp_path / "v.mp4", frames, [0, 33, 67, 100, 133])
    with av.open(str(tmp_path / "v.mp4")) as container:
        expected = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    chunks = list(iter_frames(tmp_path / "v.mp4", chunk=2))
    assert [len(f) for f, _ in chunks] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate([f for f, _ in chunks]), expected)
    np.testing.assert_allclose(np.concatenate([t for _, t in chunks]), [0, 0.033, 0.067, 0.1, 0.133], atol=2e-3)
    assert not np.shares_memory(chunks[0][0], chunks[1][0])


def test_a_faster_video_is_read_thinned_to_max_fps_by_its_frames_times(tmp_path):
    """60 frames/s read at max_fps=30 gives every second frame (50 too, 120 every fourth); a
    30 frames/s video whose frame times jitter keeps every frame; the count for progress bars
    agrees; detect_tracks refuses max_fps with boxes indexed by every frame."""
    from kinelift.detect import detect_tracks
    from kinelift.detect.video import frame_count, frame_rate, iter_frames

    frames = np.zeros((12, 32, 32, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(12)[:, None, None] * 20  # each frame's own grey level
    write_video(tmp_path / "v60.mp4", frames, [round(1000 * i / 60) for i in range(12)])
    read = [(f, t) for f, t in iter_frames(tmp_path / "v60.mp4", chunk=4, max_fps=30.0)]
    times, red = np.concatenate([t for _, t in read]), np.concatenate([f for f, _ in read])[:, 16, 16, 0].astype(int)
    np.testing.assert_allclose(times, np.arange(0, 12, 2) / 60, atol=1e-3)
    assert np.all(np.abs(red - np.arange(0, 12, 2) * 20) < 12), "the frames kept are the even ones, decoded in order"
    assert len(np.concatenate([t for _, t in iter_frames(tmp_path / "v60.mp4", max_fps=15.0)])) == 3
    assert len(np.concatenate([t for _, t in iter_frames(tmp_path / "v60.mp4")])) == 12
    assert frame_count(tmp_path / "v60.mp4", max_fps=30.0) in (6, None) and frame_rate(tmp_path / "v60.mp4") == pytest.approx(60, rel=0.1)
    jitter = [0, 30, 67, 100, 131, 166, 200, 236]  # about 30 frames/s, intervals 30-37 ms
    write_video(tmp_path / "v30.mp4", frames[:8], jitter)
    assert len(np.concatenate([t for _, t in iter_frames(tmp_path / "v30.mp4", max_fps=30.0)])) == 8
    folder = tmp_path / "images"
    folder.mkdir()
    import cv2

    for i in range(10):
        cv2.imwrite(str(folder / f"f{i:02d}.png"), frames[i])
    np.testing.assert_allclose(np.concatenate([t for _, t in iter_frames(folder, fps=120.0, max_fps=30.0)]), [0, 4 / 120, 8 / 120])
    assert frame_count(folder, fps=120.0, max_fps=30.0) == 3
    with pytest.raises(ValueRangeError, match="max_fps"):
        next(iter_frames(tmp_path / "v60.mp4", max_fps=-1.0))
    with pytest.raises(ValueRangeError, match="max_fps"):
        detect_tracks(tmp_path / "v60.mp4", detector=tiny(), boxes={0: [[1, 1, 20, 20]]}, progress=False, max_fps=30.0)


def test_corrupt_video_is_a_clear_error(tmp_path):
    from kinelift.detect import detect_tracks

    (tmp_path / "bad.mp4").write_bytes(b"not a video at all" * 100)
    with pytest.raises(FileFormatError, match="bad.mp4"):
        detect_tracks(tmp_path / "bad.mp4", detector=tiny(), progress=False)
    with pytest.raises(ValueRangeError, match="fps"):
        detect_tracks(tmp_path, detector=tiny(), progress=False)


def test_onnx_export_gives_the_same_heatmaps(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is in the test extra")
    from kinelift.detect.export import export_onnx

    net = tiny("fpn_attention").eval()
    export_onnx(net, tmp_path / "d.onnx")
    x = torch.randn(3, 3, 64, 64)
    out = ort.InferenceSession(str(tmp_path / "d.onnx")).run(None, {"images": x.numpy()})[0]
    assert np.allclose(out, net(x).detach().numpy(), atol=1e-5)
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "d.onnx")).metadata_props}
    assert meta == {"kinelift.keypoints": "LOWER-6", "kinelift.input_size": "64,64"}


def test_cli_detect_on_a_frame_folder_with_boxes(tmp_path, capsys):
    import cv2

    from kinelift.cli import main
    from kinelift.detect import save_detector
    from kinelift.io import read_tracks

    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(4):
        cv2.imwrite(str(frames / f"{i:03d}.png"), np.full((96, 64, 3), 40 * i, np.uint8))
    (tmp_path / "boxes.json").write_text('[{"image_id": 0, "category_id": 1, "bbox": [5, 5, 30, 60], "score": 0.9},'
                                         ' {"image_id": 2, "category_id": 1, "bbox": [6, 5, 30, 60], "score": 0.9}]')  # fmt: skip
    save_detector(tiny(), tmp_path / "w.pt")
    args = ["detect", str(frames), "--out", str(tmp_path / "t.h5"), "--weights", str(tmp_path / "w.pt"), "--boxes",
            str(tmp_path / "boxes.json"), "--fps", "20", "--device", "cpu", "--min-frames", "1", "--min-track-confidence", "0",
            "--min-peak-confidence", "0"]  # fmt: skip
    assert main(args) == 0
    assert "1 people, 4 frames, LOWER-6" in capsys.readouterr().out
    (track,) = read_tracks(tmp_path / "t.h5")
    assert np.allclose(track.time, [0.0, 0.05, 0.1, 0.15]) and track.valid[:, 0].tolist() == [True, False, True, False]
    assert main(args) == 2  # exists: refused without --overwrite
    assert main(["detect", str(frames), "--out", str(tmp_path / "u.h5"), "--weights", "NOPE-3"]) == 2
    assert "shipped detector" in capsys.readouterr().err


def test_detect_tracks_leaves_the_callers_detector_as_it_was(tmp_path):
    """No function changes its caller's objects: a detector in training mode stays in training mode."""
    from kinelift.detect import detect_tracks

    times = [0, 33, 66]
    write_video(tmp_path / "v.mp4", np.zeros((3, 96, 64, 3), np.uint8), times)
    net = tiny().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    detect_tracks(tmp_path / "v.mp4", detector=net, boxes={0: [[5, 5, 20, 40]]}, progress=False, device="cpu")
    assert net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_flip_false_runs_one_pass_and_flip_true_two():
    """``flip`` is the boolean it says: the mirrored crops run only with ``flip=True`` (in the same
    batch as the crops), and their mirrored-back heatmaps are averaged in."""
    from kinelift.detect.heatmaps import flip_heatmaps
    from kinelift.detect.predict import predict_heatmaps

    net = tiny().eval()
    crops = []
    net.register_forward_hook(lambda _, inputs, __: crops.append(len(inputs[0])))
    images = torch.rand(2, 3, 64, 64)
    plain = predict_heatmaps(net, images, flip=False)
    assert crops == [2]
    both = predict_heatmaps(net, images, flip=True)
    assert crops == [2, 4]
    mirrored = flip_heatmaps(predict_heatmaps(net, images.flip(-1), flip=False), get_keypoint_set("LOWER-6").flip_indices())
    assert torch.allclose(both, 0.5 * (plain + mirrored), atol=1e-6)
    some = predict_heatmaps(net, images, flip=torch.tensor([False, True]))  # only the second crop mirrored, in one batch
    assert crops == [2, 4, 2, 3]
    assert torch.allclose(some[0], plain[0], atol=1e-6) and torch.allclose(some[1], both[1], atol=1e-6)
    assert torch.allclose(predict_heatmaps(net, images, flip=torch.tensor([False, False])), plain, atol=1e-6)
    for bad in (torch.tensor([True]), torch.tensor([1, 0])):
        with pytest.raises(ShapeError, match="flip"):
            predict_heatmaps(net, images, flip=bad)


@pytest.fixture
def crops_as_filmed(monkeypatch):
    """Crops reach the network as cut, dark ones not brightened (``brighten_dark_crops``): the
    stand-in detector below reads a crop's brightness as its confidence."""
    monkeypatch.setattr("kinelift.detect.transforms.DARK_CROP_BELOW", 0.0)


class _BrightnessDetector(torch.nn.Module):
    """A stand-in detector: a fixed person-shaped set of heatmap peaks whose height is the crop's
    largest brightness (a bright region is 'seen clearly', a dark one is background texture).
    Tests that use it take the ``crops_as_filmed`` fixture."""

    def __init__(self) -> None:
        super().__init__()
        self.config = DetectorConfig(keypoints="LOWER-6", input_size=(64, 64), width=0.25, head_channels=16)
        self.n_keypoints = 6
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        brightness = images * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        height = brightness.amax(dim=(1, 2, 3)).clamp(0, 1)
        centres = torch.tensor([[13.0, 6], [10, 6], [8, 7], [8, 9], [10, 10], [13, 10]])  # legs, (row, col) in a 16x16 heatmap
        rows, cols = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
        maps = torch.exp(-((rows - centres[:, 0, None, None]) ** 2 + (cols - centres[:, 1, None, None]) ** 2) / 8.0)
        return height[:, None, None, None] * maps[None]


def test_a_person_seen_clearly_is_read_without_the_flip_test_after_the_first_frames(tmp_path, monkeypatch, crops_as_filmed):
    """``flip_below``: a bright person (mean keypoint confidence 0.9) is read with the flip test for
    the first FLIP_MEMORY frames, then without it (the network reads each of their later crops once
    instead of twice); a dim one (0.55) keeps it throughout (their points those of
    ``flip_below=1``, the flip test on every crop)."""
    import kinelift.detect.inference as inference

    frames = np.zeros((24, 120, 160, 3), np.uint8)
    frames[:, 10:110, 10:60] = 230  # bright
    frames[:, 10:110, 100:150] = 140  # dim
    write_video(tmp_path / "v.mp4", frames, list(range(0, 40 * 24, 40)))
    monkeypatch.setattr(inference, "_hog_in", lambda image, region: np.array([[10.0, 10, 50, 100], [100.0, 10, 50, 100]]))
    read = []

    class Counting(_BrightnessDetector):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            read.append(len(images))
            return super().forward(images)

    def tracks(**options):
        read.clear()
        found = inference.detect_tracks(tmp_path / "v.mp4", detector=Counting(), progress=False, redetect_every=100, min_frames=1,
                                        **options)  # fmt: skip
        by_side = {float(np.nanmedian(t.positions[:, :, 0])) < 80: t for t in found}
        return by_side[True], by_side[False], sum(read)

    bright, dim, n = tracks()
    bright_all, dim_all, n_all = tracks(flip_below=1.0)
    _, _, n_once = tracks(flip=False)
    assert bright.confidence.mean() > 0.85 > 0.6 > dim.confidence.mean()
    memory = inference.FLIP_MEMORY
    assert n_all == 2 * n_once and n_all - n == len(frames) - memory  # the bright person's crops after the first frames read once
    assert np.allclose(dim.positions, dim_all.positions)
    assert np.allclose(bright.positions[:memory], bright_all.positions[:memory])
    with pytest.raises(ValueRangeError, match="flip_below"):
        inference.detect_tracks(tmp_path / "v.mp4", detector=Counting(), progress=False, flip_below=1.5)


def test_a_track_never_seen_clearly_ends_and_is_not_restarted_there(tmp_path, monkeypatch, caplog, crops_as_filmed):
    """Two found 'people': a bright one (confidence about 0.6-0.8) and a dark patch of texture
    (about 0.3). The texture's track ends after UNCLEAR_FRAMES frames, the person finder starts
    none there again although it finds the patch at every search, and the texture's track is
    dropped; the person is tracked in every frame."""
    import logging

    import kinelift.detect.inference as inference

    n = inference.UNCLEAR_FRAMES + 40
    frames = np.zeros((n, 120, 160, 3), np.uint8)
    frames[:, 10:110, 10:60] = 230  # the person
    frames[:, 10:110, 100:150] = 90  # the texture
    write_video(tmp_path / "v.mp4", frames, list(range(0, 40 * n, 40)))
    searches = []

    def found(image, region):
        searches.append(any("not seen clearly" in r.getMessage() for r in caplog.records))  # after the texture's track ended?
        return np.array([[10.0, 10, 50, 100], [100.0, 10, 50, 100]])

    monkeypatch.setattr(inference, "_hog_in", found)
    monkeypatch.setattr(inference, "changed_region", lambda *_, **__: np.array([0.0, 0.0, 160.0, 120.0]))  # as if all had changed
    with caplog.at_level(logging.INFO, logger="kinelift.detect"):
        tracks = inference.detect_tracks(tmp_path / "v.mp4", detector=_BrightnessDetector(), progress=False, redetect_every=8,
                                         min_track_confidence=0.0, flip_below=1.0)  # fmt: skip (the stand-in's points are no mirror
    # images of each other: read without the flip test, a box it follows would drift by a constant each step)
    assert sum(searches) >= 2  # HOG found the patch again after its track ended
    assert sum("not seen clearly" in r.getMessage() for r in caplog.records) == 1  # ended once, never restarted
    assert tracks and all(float(np.nanmedian(t.positions[:, :, 0])) < 60 for t in tracks)  # only the person's
    assert np.logical_or.reduce([np.isfinite(t.positions[:, 0, 0]) for t in tracks]).all()
    kept = inference.detect_tracks(tmp_path / "v.mp4", detector=_BrightnessDetector(), progress=False, redetect_every=8,
                                   min_track_confidence=0.0, min_peak_confidence=0.0, flip_below=1.0)  # fmt: skip
    texture = [t for t in kept if float(np.nanmedian(t.positions[:, :, 0])) > 90]
    assert np.logical_or.reduce([np.isfinite(t.positions[:, 0, 0]) for t in texture]).all()  # without the rule: followed throughout


def test_a_rejected_spot_opens_again_when_its_content_changes():
    """REJECTED_CHANGE: a spot rejected as texture stays rejected while it looks the same (noise,
    a global change of exposure), and opens again when someone appears on it (a sprinter crouched
    in the blocks who rises) or when REJECTED_MEMORY frames have passed."""
    from kinelift.detect.inference import REJECTED_MEMORY, _patch, _Rejected

    rng = np.random.default_rng(0)
    frame = rng.integers(60, 120, (120, 160, 3)).astype(np.uint8)  # texture
    box = np.array([100.0, 10, 50, 100])
    spot = _Rejected(40, box, _patch(frame, box))
    noisy = np.clip(frame + rng.normal(0, 3, frame.shape) + 25, 0, 255).astype(np.uint8)  # noise, brighter exposure
    assert spot.holds(100, frame) and spot.holds(100, noisy)
    someone = frame.copy()
    someone[20:110, 115:135] = 230
    assert not spot.holds(100, someone)
    assert not spot.holds(40 + REJECTED_MEMORY, frame)
    assert _patch(frame, np.array([150.0, 100, 40, 40])).shape == (32, 16)  # a box partly outside the frame


def test_of_two_unclear_tracks_on_one_spot_the_younger_ends():
    """HOG starts a new track on texture at each search while the old one drifts; the older must
    survive to be judged, else each search resets its clock. Tracks seen clearly keep the rule
    by size and confidence."""
    from kinelift.detect.inference import _drop_duplicates, _Person

    def person(box, frames, confidence):
        return _Person(box=np.array(box, float), frames=list(frames), scores=[np.full(14, confidence)] * len(frames))

    old, new = person([100, 0, 50, 100], range(0, 30), 0.3), person([95, -5, 60, 110], [], 0.3)
    _drop_duplicates([old, new], np.full((2, 14), 0.3), min_peak_confidence=0.45)
    assert old.active and not new.active
    old, new = person([100, 0, 50, 100], range(0, 30), 0.3), person([95, -5, 60, 110], [], 0.3)
    _drop_duplicates([old, new], np.full((2, 14), 0.3))  # without the rule (no peak limit): the smaller one ends
    assert not old.active and new.active
    old, new = person([100, 0, 50, 100], range(0, 30), 0.8), person([95, -5, 60, 110], [], 0.8)
    _drop_duplicates([old, new], np.full((2, 14), 0.8), min_peak_confidence=0.45)  # seen clearly: by size
    assert not old.active and new.active


def test_the_person_finder_searches_less_often_while_its_searches_start_nothing():
    """SEARCH_BACKOFF: with people followed, the wait doubles from redetect_every to 4x after each
    search that starts nobody, and falls back when one is started or a track ends; with nobody
    followed it doubles from follow_step to redetect_every, and a search follows at once when the
    last track ends."""
    from kinelift.detect.inference import SEARCH_BACKOFF, _SearchClock

    clock, frames = _SearchClock(redetect_every=30, follow_step=4), []
    for frame in range(0, 2000, 4):
        if clock.due(frame, followed=1 if frame else 0):
            frames.append(frame)
            clock.searched(frame, started=1 if frame == 0 else 0, followed=1)
    assert frames[:5] == [0, 30 - 30 % 4 + 4, 92, 212, 332]  # waits 30 (the next step at or after it), 60, 120, 120
    assert np.diff(frames).max() == SEARCH_BACKOFF * 30
    clock.searched(2000, started=0, followed=1)
    assert not clock.due(2004, followed=1) and clock.due(2004, followed=0)  # the last followed track ended: search now
    clock.searched(2004, started=0, followed=0)
    idle = [f for f in range(2008, 2200, 4) if clock.due(f, followed=0) and clock.searched(f, started=0, followed=0) is None]
    assert np.diff([2004, *idle])[:4].tolist() == [4, 8, 16, 32] and np.diff(idle).max() == 32  # up to 30, at step boundaries
    clock.searched(3000, started=0, followed=2)
    assert clock.due(3000 + 30, followed=1)  # one of two tracks ended: back to redetect_every

def test_the_background_a_followed_person_uncovered_is_not_searched_for_newcomers():
    """A person walking across a fixed view: between two searches the frame changes where they are
    and where they were; the person finder looks only outside their whole path since the last search."""
    from kinelift.detect.inference import FOLLOWED_MARGIN, _followed_paths, _Person
    from kinelift.detect.motion import changed_region, thumbnail

    frame = np.full((240, 480, 3), 90, np.uint8)
    frame[:, ::16] = 160  # a textured wall
    shape = np.array([[-9, -40], [9, -40], [-6, 0], [6, 0], [-8, 40], [8, 40]], float)  # shoulders, hips, ankles: 18 x 80 px

    def seen_at(x: float, newcomer: bool = False) -> np.ndarray:
        image = frame.copy()
        image[80:170, int(x) - 12 : int(x) + 12] = 20  # the walker, inside the box the follower crops from the points
        if newcomer:
            image[20:110, 400:436] = 230
        return image

    names = ("right_shoulder", "left_shoulder", "right_hip", "left_hip", "right_ankle", "left_ankle")
    person = _Person(box=np.array([280.0, 80.0, 24.0, 90.0]))
    for f, x in enumerate(range(100, 300, 5)):  # 40 frames from x = 100 to 295
        person.frames.append(f)
        person.points.append(shape + [x, 125])
        person.scores.append(np.ones(6))
    person.box = np.array([283.0, 80.0, 24.0, 90.0])
    before, after = thumbnail(seen_at(100)), thumbnail(seen_at(295))
    only_now = changed_region(before, after, exclude=np.array([person.box]) * [1, 1, FOLLOWED_MARGIN, FOLLOWED_MARGIN])
    assert only_now is not None  # the box now alone leaves the spot the walker left at frame 0
    paths = _followed_paths([person], 0, names, 0.1)
    assert len(paths) == 1 + 10  # the box now and every 4th followed frame's keypoint box
    assert changed_region(before, after, exclude=paths) is None
    found = changed_region(before, thumbnail(seen_at(295, newcomer=True)), exclude=paths)
    assert found is not None and found[0] <= 400 and found[0] + found[2] >= 436  # a newcomer off the path is still found
    assert len(_followed_paths([person], 36, names, 0.1)) == 2  # since frame 36: the box now and frame 36's


def test_a_followed_track_ends_where_its_keypoints_collapse():
    """The person walks out of the crop and the keypoints settle at a quarter of the body's size:
    the track ends at the first such frame and is no longer followed; a squat-like shrink to three
    quarters does not end it."""
    from kinelift.detect.inference import _follow_step, _Person

    names = get_keypoint_set("LSP-14").names
    body = np.stack([np.linspace(100, 140, 14), np.linspace(50, 400, 14)], axis=1)  # 350 px tall

    def fake_run(sizes):
        def run(frames, local, boxes, mirrored=None):
            centre = body.mean(0)
            points = np.stack([centre + (body - centre) * sizes[i] for i in local])
            return points, np.full((len(local), 14), 0.8)
        return run

    sizes = [1.0] * 8 + [0.75] * 4 + [0.25] * 4
    person = _Person(box=np.array([80.0, 30.0, 80.0, 400.0]))
    for start in range(0, 16, 4):
        _follow_step(fake_run(sizes), torch.zeros(16, 3, 8, 8), 0, start, start + 4, [person] if person.active else [], names, 0.15)
    assert person.frames == list(range(12)) and not person.active
    steady = _Person(box=np.array([80.0, 30.0, 80.0, 400.0]))
    for start in range(0, 12, 4):
        _follow_step(fake_run(sizes), torch.zeros(12, 3, 8, 8), 0, start, start + 4, [steady], names, 0.15)
    assert steady.frames == list(range(12)) and steady.active


def test_the_frames_left_on_a_background_that_stopped_changing_are_counted():
    """STILL_FRAMES: a track that was moving and is then still and unclear has lost its person; its
    last frames that are still or unclear are the ones on the background. A person still from the
    start (the sprint start's starter), one still but seen clearly (the lateral raise), or one
    moving with low confidence is not affected."""
    from kinelift.detect.inference import MOVING_FRAMES, STILL_FRAMES, _frames_left_behind, _Person

    def person(changes, confidences):
        return _Person(box=np.zeros(4), changes=list(changes), scores=[np.full(6, c) for c in confidences])

    moving = [0.4] * MOVING_FRAMES
    left = person(moving + [0.12, 0.05] + [0.0] * STILL_FRAMES, [0.6] * MOVING_FRAMES + [0.2, 0.3] + [0.25] * STILL_FRAMES)
    assert _frames_left_behind(left, min_peak_confidence=0.45, min_track_confidence=0.3) == 2 + STILL_FRAMES
    for changes, confidences in (([0.0] * (MOVING_FRAMES + STILL_FRAMES), [0.35] * (MOVING_FRAMES + STILL_FRAMES)),  # still from the start
                                 (moving + [0.0] * STILL_FRAMES, [0.9] * (MOVING_FRAMES + STILL_FRAMES)),  # stopped, seen clearly
                                 (moving + [0.3] * STILL_FRAMES, [0.25] * (MOVING_FRAMES + STILL_FRAMES)),  # moving, unclear
                                 ([np.nan] + [0.0] * STILL_FRAMES, [0.2] * (1 + STILL_FRAMES))):  # motion unknown
        assert _frames_left_behind(person(changes, confidences), min_peak_confidence=0.45, min_track_confidence=0.3) == 0


def test_a_person_who_leaves_the_crop_is_not_followed_on_the_background(tmp_path, monkeypatch, caplog, crops_as_filmed):
    """A bright person moving in place leaves at frame 20; the keypoints stay on the dark, still
    background. The track ends there with its frames on the background dropped, and the person
    finder, which still reports the spot, starts no track on it; without the person's motion (the
    same video, a still person) the track is followed to the end."""
    import logging

    import kinelift.detect.inference as inference

    n, gone = 40, 20
    frames = np.full((n, 120, 160, 3), 60, np.uint8)
    stripes = (np.arange(160) // 8) % 2 == 0
    for i in range(gone):
        frames[i, 10:110, 5:65] = np.where(np.roll(stripes, 4 * i)[5:65], 230, 150)[None, :, None]  # limbs moving
    write_video(tmp_path / "v.mp4", frames, list(range(0, 40 * n, 40)))
    monkeypatch.setattr(inference, "_hog_in", lambda image, region: np.array([[5.0, 10, 60, 100]]))
    monkeypatch.setattr(inference, "changed_region", lambda *_, **__: np.array([0.0, 0.0, 160.0, 120.0]))
    with caplog.at_level(logging.INFO, logger="kinelift.detect"):
        tracks = inference.detect_tracks(tmp_path / "v.mp4", detector=_BrightnessDetector(), progress=False, redetect_every=8)
    assert sum("left the crop" in r.getMessage() for r in caplog.records) == 1
    assert len(tracks) == 1
    seen = np.isfinite(tracks[0].positions[:, 0, 0])
    assert seen[:gone].all() and not seen[gone:].any()
    frames[:, 10:110, 5:65] = frames[0, 10:110, 5:65]  # the person stands still, seen clearly
    write_video(tmp_path / "still.mp4", frames, list(range(0, 40 * n, 40)))
    still = inference.detect_tracks(tmp_path / "still.mp4", detector=_BrightnessDetector(), progress=False, redetect_every=8)
    assert len(still) == 1 and np.isfinite(still[0].positions[:, 0, 0]).all()


class _ExtentDetector(torch.nn.Module):
    """A stand-in LSP-14 detector that reads the bright rows of its crop as a standing person, head
    top to soles; where the bright region runs into the crop's bottom edge the feet are not in the
    crop: it squeezes the whole skeleton into what it sees and the knees and ankles are unclear
    (as the real network does with a crop that stops at the thighs)."""

    def __init__(self) -> None:
        super().__init__()
        self.config = DetectorConfig(keypoints="LSP-14", input_size=(64, 64), width=0.25, head_channels=16)
        self.n_keypoints = 14
        self.unused = torch.nn.Parameter(torch.zeros(1))
        # LSP-14's order: ankle, knee, hip (right), hip, knee, ankle (left), wrist, elbow, shoulder (right), shoulder, elbow, wrist (left), neck, head top
        self.along = torch.tensor([1.0, 0.75, 0.5, 0.5, 0.75, 1.0, 0.45, 0.3, 0.15, 0.15, 0.3, 0.45, 0.12, 0.0])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        brightness = images * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        bright = brightness.amax(dim=1) > 0.7  # (n, 64, 64)
        maps = []
        rows, cols = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
        for mask in bright:
            r, c = torch.nonzero(mask, as_tuple=True)
            top, bottom, centre = r.min() / 4.0, r.max() / 4.0, c.float().mean() / 4.0
            feet_seen = bool(r.max() < 60)
            height = torch.full((14,), 0.9)
            if not feet_seen:
                height[[0, 1, 4, 5]] = 0.1
            y = top + self.along * (bottom - top)
            maps.append(height[:, None, None] * torch.exp(-((rows - y[:, None, None]) ** 2 + (cols - centre) ** 2) / 2.0))
        return torch.stack(maps)


def test_a_person_found_by_the_upper_half_is_followed_whole(tmp_path, monkeypatch):
    """FOUND_HALF_GAIN: the person finder's box holds the upper half of a tall person. The track's
    first frame is also read in the box twice as tall; the network sees the ankles below the first
    box, more confidently, so the person is followed whole from the first frame (soles at the
    person's feet). Without the rule the first frames' soles lie inside the cut-off crop."""
    import kinelift.detect.inference as inference

    n = 12
    frames = np.full((n, 120, 160, 3), 40, np.uint8)
    frames[:, 10:101, 20:50] = 230  # a standing person, head top at row 10, soles at row 100
    write_video(tmp_path / "v.mp4", frames, list(range(0, 40 * n, 40)))
    monkeypatch.setattr(inference, "_hog_in", lambda image, region: np.array([[5.0, 10, 60, 45]]))  # the upper half
    monkeypatch.setattr(inference, "changed_region", lambda *_, **__: np.array([0.0, 0.0, 160.0, 120.0]))

    def soles(**options):
        tracks = inference.detect_tracks(tmp_path / "v.mp4", detector=_ExtentDetector(), progress=False, min_frames=1, **options)
        assert len(tracks) == 1
        ankles = [tracks[0].keypoint_names.index(k) for k in ("right_ankle", "left_ankle")]
        return tracks[0].positions[:, ankles, 1].mean(axis=1)

    whole = soles()
    np.testing.assert_allclose(whole, 100.0, atol=12.0)  # every frame, from the first (a heatmap cell is 6-7 px here)
    monkeypatch.setattr(inference, "FOUND_HALF_GAIN", np.inf)
    cut = soles()
    assert cut[0] < 75.0  # the crop stopped at row 70: the skeleton squeezed into it


def test_a_followed_box_moves_ahead_with_the_person():
    """The next step's box moves at the keypoints' velocity over the last step and stretches to
    cover its frames; a standing person's box stays; a jump of more than a box per frame is capped."""
    from kinelift.detect.inference import _ahead

    box = np.array([100.0, 50.0, 80.0, 200.0])
    first, last = np.array([100.0, 50.0, 60.0, 180.0]), np.array([130.0, 50.0, 60.0, 180.0])  # 10 px per frame to the right over 4 frames
    moved = _ahead(box, first, last, 4)
    np.testing.assert_allclose(moved[:2] + moved[2:] / 2, [140.0 + 25.0, 150.0])  # centre 2.5 frames ahead
    np.testing.assert_allclose(moved[2:], [80.0 + 30.0, 200.0])
    np.testing.assert_allclose(_ahead(box, first, first, 4), box)
    np.testing.assert_allclose(_ahead(box, first, np.full(4, np.nan), 4), box)
    far = _ahead(box, first, first + [1000.0, 0, 0, 0], 2)
    assert far[2] == pytest.approx(80.0 + 80.0)  # capped at one box width per frame


def test_a_track_on_another_person_ends():
    """A followed box inside another's (a raised arm) ends; of two boxes of one size on one person,
    the less confident ends; people side by side are both kept."""
    from kinelift.detect.inference import _drop_duplicates, _Person

    subject, arm, twin, neighbour = (_Person(box=np.array(b, float)) for b in
                                     ([100, 0, 200, 400], [180, 50, 60, 40], [105, 5, 195, 390], [400, 0, 200, 400]))  # fmt: skip
    people = [subject, arm, twin, neighbour]
    _drop_duplicates(people, np.array([[0.8] * 14, [0.9] * 14, [0.5] * 14, [0.7] * 14]))
    assert [p.active for p in people] == [True, False, False, True]


# ------------------------------------------------------------------ MediaPipe backend (optional install)
def test_mediapipe_landmarks_become_pixel_tracks_split_where_a_different_person_is_found():
    from kinelift.detect.mediapipe_pose import landmarks_to_tracks

    T = 40
    rng = np.random.default_rng(0)
    base = rng.uniform(0.3, 0.4, (33, 2))  # a person on the left of the image
    points = np.repeat(base[None], T, axis=0)
    points[20:] += 0.5  # after a frame without anyone, BlazePose finds someone on the right
    points[19] = np.nan
    points[5, :, 0] += 0.01  # the first person moves a little: one track
    visibility = np.full((T, 33), 0.8)
    visibility[19] = 0.0
    time = np.arange(T) / 25.0
    tracks = landmarks_to_tracks(points, visibility, time, width=640, height=480, min_frames=5)
    assert len(tracks) == 2 and [t.keypoint_set.name for t in tracks] == ["MEDIAPIPE-33"] * 2
    first, second = tracks
    assert np.isfinite(first.positions[:19, 0, 0]).all() and np.isnan(first.positions[19:, 0, 0]).all()
    assert np.isfinite(second.positions[20:, 0, 0]).all() and np.isnan(second.positions[:20, 0, 0]).all()
    np.testing.assert_allclose(first.positions[0], base * [640, 480])
    np.testing.assert_allclose(first.confidence[0], 0.8)
    assert first.units == "px" and first.coordinate_frame == "image"
    assert first.to_keypoint_set("COCO-17").keypoint_set.name == "COCO-17"  # what the lifters take
    # the same person after a short gap stays one track
    points[20:] -= 0.5
    assert len(landmarks_to_tracks(points, visibility, time, width=640, height=480, min_frames=5)) == 1
    # short or faint tracks are dropped
    assert landmarks_to_tracks(points, visibility * 0.2, time, width=640, height=480, min_frames=5) == []
    with pytest.raises(ShapeError, match="points/visibility"):
        landmarks_to_tracks(points[:, :17], visibility, time, width=640, height=480)


class _FakeBlazePose:
    """Stands in for mediapipe's ``solutions.pose`` (not installed in the tests): a person facing
    the camera, standing in frame 0, right hip and knee flexed 90 deg (thigh towards the camera)
    in frame 1, nobody in frame 2. World landmarks in MediaPipe's axes: x right, y down, z away
    from the camera, origin between the hips; the person's right is on the image's left."""

    names = get_keypoint_set("MEDIAPIPE-33").names

    def __init__(self, **_):
        self.frame = 0

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False

    @classmethod
    def world(cls, frame: int) -> np.ndarray:
        pts = np.zeros((33, 3))
        for side, x in (("right", -0.1), ("left", 0.1)):
            pts[cls.names.index(f"{side}_shoulder")] = [1.6 * x, -0.5, 0]
            pts[cls.names.index(f"{side}_hip")] = [x, 0, 0]
            pts[cls.names.index(f"{side}_knee")] = [x, 0.45, 0]
            pts[cls.names.index(f"{side}_ankle")] = [x, 0.9, 0]
        if frame == 1:
            pts[cls.names.index("right_knee")] = [-0.1, 0, -0.45]  # towards the camera
            pts[cls.names.index("right_ankle")] = [-0.1, 0.45, -0.45]
        return pts

    def process(self, image):
        from types import SimpleNamespace

        frame, self.frame = self.frame, self.frame + 1
        if frame == 2:
            return SimpleNamespace(pose_landmarks=None, pose_world_landmarks=None)
        world = self.world(frame)
        image_points = [SimpleNamespace(x=0.5 + p[0], y=0.5 + p[1] / 2, visibility=0.9) for p in world]
        return SimpleNamespace(pose_landmarks=SimpleNamespace(landmark=image_points),
                               pose_world_landmarks=SimpleNamespace(landmark=[SimpleNamespace(x=p[0], y=p[1], z=p[2]) for p in world]))


def test_mediapipe_world_landmarks_become_3d_tracks_in_opensim_axes(tmp_path, monkeypatch):
    """BlazePose's world landmarks (the peer's own 3D) in OpenSim's axes, y up: the joint angles of
    the analysis read the flexed hip and knee with their signs; a frame without a person is NaN.
    The backend's 2D tracks come from the same pass."""
    from types import SimpleNamespace

    from kinelift.analysis import joint_angles_3d
    from kinelift.detect import mediapipe_pose

    monkeypatch.setattr(mediapipe_pose, "_pose_solution", lambda: SimpleNamespace(Pose=_FakeBlazePose))
    write_video(tmp_path / "v.mp4", np.zeros((3, 96, 64, 3), np.uint8), [0, 40, 80])
    world = mediapipe_pose.world_landmarks_mediapipe(tmp_path / "v.mp4", progress=False)
    assert world.keypoint_set.name == "MEDIAPIPE-33" and world.units == "m" and world.n_frames == 3
    assert np.isnan(world.positions[2]).all() and np.isfinite(world.positions[:2]).all()
    shoulder, hip = world.keypoint_names.index("right_shoulder"), world.keypoint_names.index("right_hip")
    assert world.positions[0, shoulder, 1] - world.positions[0, hip, 1] == pytest.approx(0.5)  # y up
    angles = np.degrees(joint_angles_3d(world, up="y").select(["hip_flexion_r", "knee_flexion_r", "hip_flexion_l", "knee_flexion_l"]).values)
    np.testing.assert_allclose(angles[:2], [[0, 0, 0, 0], [90, 90, 0, 0]], atol=1e-6)
    tracks = mediapipe_pose.detect_tracks_mediapipe(tmp_path / "v.mp4", progress=False, min_frames=1)
    assert len(tracks) == 1 and np.isfinite(tracks[0].positions[:2]).all() and np.isnan(tracks[0].positions[2]).all()
    np.testing.assert_allclose(tracks[0].positions[0, hip], [(0.5 - 0.1) * 64, 0.5 * 96])


def test_mediapipe_boxes_feed_the_heatmap_detector(tmp_path, monkeypatch, crops_as_filmed):
    """boxes="mediapipe": BlazePose's landmark box (grown by BOX_GROWTH) in each frame where it
    finds its person is the heatmap detector's crop; no box, no keypoints; HOG is not run; with
    detector "auto" the heatmap detector is LSP-14 even where mediapipe is installed."""
    from types import SimpleNamespace

    import kinelift.detect.inference as inference
    from kinelift.detect import mediapipe_pose

    monkeypatch.setattr(mediapipe_pose, "_pose_solution", lambda: SimpleNamespace(Pose=_FakeBlazePose))
    monkeypatch.setattr(inference, "hog_people", lambda *a, **k: pytest.fail("HOG ran"))
    write_video(tmp_path / "v.mp4", np.zeros((3, 96, 64, 3), np.uint8), [0, 40, 80])
    boxes = mediapipe_pose.mediapipe_boxes(tmp_path / "v.mp4", progress=False)
    assert sorted(boxes) == [0, 1]
    px = np.array([[(0.5 + p[0]) * 64, (0.5 + p[1] / 2) * 96] for p in _FakeBlazePose.world(0)])
    lo, hi = px.min(0), px.max(0)
    np.testing.assert_allclose(boxes[0][0], [*((lo + hi) / 2 - (hi - lo) * 0.55), *((hi - lo) * 1.1)])
    tracks = inference.detect_tracks(tmp_path / "v.mp4", detector=_BrightnessDetector(), boxes="mediapipe", progress=False,
                                     min_frames=1, min_track_confidence=0.0, min_peak_confidence=0.0)  # fmt: skip
    assert len(tracks) == 1 and np.isfinite(tracks[0].positions[:2]).all() and np.isnan(tracks[0].positions[2]).all()
    chosen = []

    class Resolved(Exception):
        pass

    def resolve(detector, device):
        chosen.append(detector)
        raise Resolved

    monkeypatch.setattr(inference, "_resolve", resolve)
    monkeypatch.setattr(inference, "mediapipe_version", lambda: "0.10.14")
    with pytest.raises(Resolved):
        inference.detect_tracks(tmp_path / "v.mp4", detector="auto", boxes="mediapipe", progress=False)
    assert chosen == ["LSP-14"]


def test_detector_auto_and_mediapipe_resolve_by_what_is_installed(monkeypatch):
    from kinelift.detect import inference, resolve_detector

    monkeypatch.setattr(inference, "mediapipe_version", lambda: None)
    assert resolve_detector("auto") == "LSP-14" and resolve_detector("LOWER-6") == "LOWER-6"
    with pytest.raises(UnknownNameError, match="pip install mediapipe"):
        resolve_detector("mediapipe")
    monkeypatch.setattr(inference, "mediapipe_version", lambda: "0.10.14")
    assert resolve_detector("auto") == "mediapipe"


def test_a_run_fingerprint_follows_the_installed_mediapipe(monkeypatch, tmp_path):
    from kinelift.detect import mediapipe_pose
    from kinelift.pipeline.config import RunConfig
    from kinelift.pipeline.fingerprint import detection_fingerprint, differences, run_fingerprint

    source = tmp_path / "clip.bin"
    source.write_bytes(b"frames")
    monkeypatch.setattr(mediapipe_pose, "mediapipe_version", lambda: None)
    without = run_fingerprint(source, RunConfig())
    monkeypatch.setattr(mediapipe_pose, "mediapipe_version", lambda: "0.10.14")
    with_it = run_fingerprint(source, RunConfig())
    assert detection_fingerprint(without) != detection_fingerprint(with_it)  # "auto" now means another detector: detect again
    assert differences(without, with_it)
    assert run_fingerprint(source, RunConfig(detector="LSP-14"))["shipped_weights_sha256"].get("detector mediapipe") is None
    boxes = run_fingerprint(source, RunConfig(detector="LSP-14", boxes="mediapipe"))  # BlazePose's boxes follow the installed package
    assert boxes["shipped_weights_sha256"]["detector mediapipe"] == "mediapipe 0.10.14"


def test_the_changed_region_is_where_the_frame_changed_outside_the_followed_people():
    """kinelift.detect.motion: nothing changed -> None; a change is boxed, grown and at least
    REGION_ASPECT as wide as high; a change inside a followed person's box is that person's own
    motion -> None; a speck smaller than MIN_BLOB thumbnail pixels is noise -> None; a moving
    camera (everything changed) -> the whole frame."""
    from kinelift.detect.motion import REGION_ASPECT, THUMBNAIL_STEP, changed_region, thumbnail

    before = np.full((720, 1280, 3), 90, np.uint8)
    assert changed_region(thumbnail(before), thumbnail(before)) is None
    after = before.copy()
    after[200:600, 1180:1240] = 230  # a person's edge walking in at the right
    region = changed_region(thumbnail(before), thumbnail(after))
    assert region[0] <= 1180 and region[1] <= 200 and region[0] + region[2] >= 1240 and region[1] + region[3] >= 600
    assert region[0] + region[2] <= 1280 and region[2] >= REGION_ASPECT * min(region[3] * 1.0, 720) - THUMBNAIL_STEP
    assert changed_region(thumbnail(before), thumbnail(after), exclude=np.array([[1150.0, 150.0, 120.0, 500.0]])) is None
    speck = before.copy()
    speck[104:112, 104:120] = 255  # two thumbnail pixels
    assert changed_region(thumbnail(before), thumbnail(speck)) is None
    panned = np.roll(np.tile(np.arange(1280, dtype=np.uint8)[None, :, None] * 7, (720, 1, 3)), 40, axis=1)
    whole = changed_region(thumbnail(np.tile(np.arange(1280, dtype=np.uint8)[None, :, None] * 7, (720, 1, 3))), thumbnail(panned))
    assert whole.tolist() == [0.0, 0.0, 1280.0, 720.0]
    with pytest.raises(ShapeError):
        changed_region(thumbnail(before), thumbnail(before[:360]))


def test_the_person_finder_searches_only_where_the_frame_changed(tmp_path, monkeypatch):
    """On a fixed camera's frames the first search covers the whole frame; a later one only the
    part that changed outside the followed person (none: no search), in frame pixels; the log
    counts them."""
    import kinelift.detect.inference as inference

    frames = np.full((16, 240, 320, 3), 100, np.uint8)
    frames[6:, 40:200, 250:290] = 220  # a newcomer at the right from frame 6
    folder = tmp_path / "frames"
    folder.mkdir()
    import cv2

    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"f{i:02d}.png"), f)
    searched = []

    def fake_hog(frame, region):
        searched.append(None if region is None else region.copy())
        return np.zeros((0, 4))

    monkeypatch.setattr(inference, "_hog_in", fake_hog)
    tracks = inference.detect_tracks(folder, detector=tiny(), fps=30.0, follow_step=4, progress=False)
    assert tracks == [] and searched[0] is None  # the first search: the whole frame
    changed = [r for r in searched[1:] if r is not None]
    assert len(changed) == 1 and changed[0][0] <= 250 and changed[0][0] + changed[0][2] >= 290  # frame 12: the newcomer
    assert len(searched) == 2  # searches due at frames 0, 4 and 12 (SEARCH_BACKOFF); at 4 nothing had changed


def test_a_box_around_an_unclear_track_starts_the_person_it_holds():
    """HOG finds a person whose box holds a followed track not seen clearly (begun on a wall socket
    and drifted onto the person's legs, as on the real walking video): the person's track starts;
    around a track seen clearly, or inside any track's box, no new track starts."""
    import kinelift.detect.inference as inference
    from kinelift.detect.inference import _Person, _start_people

    person_box = np.array([900.0, 210.0, 215.0, 430.0])
    original = inference._hog_in
    inference._hog_in = lambda frame, region: person_box[None]
    try:
        for peak, started in ((0.3, 1), (0.8, 0)):
            legs = _Person(box=np.array([1000.0, 300.0, 130.0, 290.0]))
            legs.frames, legs.scores = list(range(30)), [np.full(14, peak)] * 30
            people = [legs]
            assert _start_people(np.zeros((720, 1280, 3), np.uint8), people, 4, np.zeros((0, 4)), min_peak_confidence=0.45) == started
        inference._hog_in = lambda frame, region: np.array([[1010.0, 310.0, 60.0, 120.0]])  # a raised arm inside the track's box
        assert _start_people(np.zeros((720, 1280, 3), np.uint8), [legs], 4, np.zeros((0, 4)), min_peak_confidence=0.45) == 0
    finally:
        inference._hog_in = original


def test_precision_is_validated_and_recorded(tmp_path):
    """float32 on a CPU by default (bfloat16 only when asked for), recorded in the tracks'
    metadata; an unknown precision is a clear error."""
    from kinelift.detect.predict import uses_bfloat16

    assert not uses_bfloat16("auto", "cpu") and uses_bfloat16("auto", "cuda") and uses_bfloat16("bfloat16", "cpu")
    with pytest.raises(ValueRangeError, match="precision"):
        uses_bfloat16("half", "cpu")
    from kinelift.detect import detect_tracks

    write_video(tmp_path / "v.mp4", np.zeros((4, 96, 64, 3), np.uint8), [0, 33, 66, 100])
    tracks = detect_tracks(tmp_path / "v.mp4", detector=tiny(), boxes={0: [[5, 5, 20, 40]]}, progress=False, min_frames=1,
                           min_track_confidence=0.0, min_peak_confidence=0.0)  # fmt: skip
    assert tracks[0].metadata["detector_precision"] == "float32"
    with pytest.raises(ValueRangeError, match="precision"):
        detect_tracks(tmp_path / "v.mp4", detector=tiny(), boxes={0: [[5, 5, 20, 40]]}, progress=False, precision="half")


def test_a_lost_track_is_looked_for_where_it_was_lost():
    """LOST_GROWTH: the searched region holds what changed and the last box of a track lost since
    the last search (grown 2x about its centre), clipped to the frame; nothing: no region."""
    from kinelift.detect.inference import LOST_GROWTH, _search_region

    assert _search_region(None, [], (720, 1280)) is None
    lost = np.array([100.0, 200.0, 100.0, 200.0])
    region = _search_region(None, [lost], (720, 1280))
    assert region.tolist() == [100 - 50 * (LOST_GROWTH - 1) * 1.0, 100.0, 100 * LOST_GROWTH, 200 * LOST_GROWTH]
    both = _search_region(np.array([1000.0, 0.0, 300.0, 720.0]), [lost], (720, 1280))
    assert both.tolist() == [50.0, 0.0, 1230.0, 720.0]  # clipped at the right edge (1300 -> 1280)


def test_people_tracks_keep_a_faint_tracks_confident_stretch_and_join_fragments_of_one_person():
    """A person who walks into the image is seen faintly until whole: the track keeps its confident
    frames instead of being dropped; a track that starts a few frames after it ended, close by and
    of about its size, continues it (one person id); one far away, or after a long gap, does not."""
    from kinelift.detect.people import people_tracks

    time = np.arange(100) / 30.0
    body = np.array([[0.0, 200.0], [0.0, 110.0], [0.0, 0.0], [40.0, 0.0], [40.0, 110.0], [40.0, 200.0]])  # LOWER-6, 200 px tall

    def fragment(frames, x, confidence):
        frames = np.asarray(frames)
        return frames, np.repeat(body[None] + [x, 50.0], len(frames), 0), np.broadcast_to(np.asarray(confidence, float)[:, None], (len(frames), 6)).copy()

    entering = fragment(range(0, 30), 600.0, [0.1] * 18 + [0.6] * 12)  # mean 0.3, below 0.4; confident over frames 18-29
    again = fragment(range(34, 60), 560.0, [0.7] * 26)  # 4 frames later, 40 px away: the same person
    other = fragment(range(34, 60), 100.0, [0.7] * 26)  # 500 px away: someone else
    late = fragment(range(85, 100), 560.0, [0.7] * 15)  # 25 frames after the last one ended: a new track
    tracks = people_tracks([entering, again, other, late], time, "LOWER-6", min_frames=10, min_track_confidence=0.4, min_peak_confidence=0.5)
    seen = [np.flatnonzero(t.valid.all(axis=1)).tolist() for t in tracks]
    assert seen[0] == list(range(18, 30)) + list(range(34, 60))  # faint frames 0-17 dropped, the fragments joined
    assert seen[1] == list(range(34, 60)) and seen[2] == list(range(85, 100))
    assert [t.person_id for t in tracks] == [0, 1, 2]
    faint = fragment(range(0, 30), 600.0, [0.1] * 25 + [0.6] * 5)  # its confident stretch is too short: dropped
    assert people_tracks([faint], time, "LOWER-6", min_frames=10, min_track_confidence=0.4) == []


def test_dark_crops_are_brightened_before_the_network_and_lit_ones_are_not():
    from kinelift.detect.transforms import DARK_CROP_MAX_GAIN, IMAGENET_MEAN, IMAGENET_STD, brighten_dark_crops, normalize_images

    rng = torch.Generator().manual_seed(0)
    lit = torch.rand(2, 3, 64, 48, generator=rng)  # the brightest pixels near 1
    dark = lit * 0.3  # a dim room: the brightest pixels near 0.3
    out = brighten_dark_crops(torch.cat([lit, dark]))
    assert torch.equal(out[:2], lit)
    gain = out[2:].flatten(1).amax(1) / dark.flatten(1).amax(1)
    assert torch.allclose(gain, torch.full((2,), 0.85 / 0.3), rtol=0.05)  # the 99th percentile brought to 0.85
    very_dark = brighten_dark_crops(lit[:1] * 0.05)
    assert float(very_dark.amax()) <= DARK_CROP_MAX_GAIN * 0.05 + 1e-6  # the gain is capped
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    assert torch.allclose(normalize_images((lit * 255).round().to(torch.uint8)), ((lit * 255).round() / 255 - mean) / std, atol=1e-6)


def test_hog_finds_nobody_in_an_image_smaller_than_its_window():
    """OpenCV's HOG search crashes the process (a segmentation fault, OpenCV 4.14) on an image
    smaller than its 64x128 window; the person finder searched such a strip of a dark real clip."""
    from kinelift.detect.people import hog_people

    strip = (np.random.default_rng(0).random((96, 288, 3)) * 60).astype(np.uint8)
    boxes, scores = hog_people(strip, factor=1.0)
    assert boxes.shape == (0, 4) and scores.shape == (0,)
    assert hog_people(np.zeros((128, 64, 3), np.uint8), factor=1.0)[0].shape[1] == 4  # the window's own size is searched
