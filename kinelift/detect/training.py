"""Training a heatmap detector on labelled images: seeded, checkpointed, logged, resumable.

:func:`training_data` reads the datasets a :class:`~kinelift.detect.config.DetectorDataConfig`
names (LSP's first ``lsp_train_last`` images, LSPET, COCO and video frames labelled by a
teacher's tracks train, the next ``lsp_validation`` LSP images validate and are never trained on). :func:`train_detector` trains with Adam (decoupled weight decay) and the
:func:`~kinelift.detect.heatmaps.joints_mse_loss` on augmented crops (scale, rotation, flip with
left/right swap, optionally degraded as video frames: :mod:`kinelift.detect.degrade`), from fresh
weights or from a detector's (``init_from``), under a step or cosine learning-rate schedule, optionally keeping an exponential
moving average of the weights (``ema_decay``: then the average is validated and saved),
evaluates PCK on the validation people after every epoch and writes to
``out_dir``: ``checkpoint.pt`` (resumed from when present), ``log.csv``, ``curves.png`` and
``detector.pt`` (:func:`~kinelift.detect.weights.save_detector`, the best validation epoch by
lower-body PCK@0.2 when there is a validation set, or the last with ``keep = "last"``). Channels-last memory on every device; on a GPU: bf16 autocast,
optional ``torch.compile``; several GPUs through ``torchrun`` (DistributedDataParallel, each
process its share of every batch).

Examples
--------
>>> import tempfile
>>> from kinelift.detect.config import detector_config_from_dict
>>> from kinelift.detect.crops import build_crops
>>> from kinelift.detect.datasets import PoseSamples
>>> import numpy as np, pathlib, cv2
>>> path = str(pathlib.Path(tempfile.mkdtemp()) / "a.png")
>>> _ = cv2.imwrite(path, np.zeros((100, 80, 3), np.uint8))
>>> s = PoseSamples((path,) * 2, np.full((2, 6, 2), 40.0), np.ones((2, 6), bool), np.ones((2, 6), bool),
...                 np.array([[20.0, 10.0, 40.0, 80.0]] * 2), "LOWER-6")
>>> setup = detector_config_from_dict({"model": {"keypoints": "LOWER-6", "input_size": [64, 64], "width": 0.25,
...     "head_channels": 16}, "training": {"epochs": 1, "batch_size": 2, "out_dir": tempfile.mkdtemp()}})
>>> crops = build_crops(s, (64, 64), progress=False)
>>> result = train_detector(setup, train=crops, validation=crops, progress=False)
>>> sorted(p.name for p in result.out_dir.iterdir())
['checkpoint.pt', 'curves.png', 'detector.pt', 'log.csv']
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from kinelift._checkpoints import resumable_state
from kinelift._distributed import finish_distributed, init_distributed, local_device
from kinelift.core import get_keypoint_set
from kinelift.detect.config import DetectorDataConfig, DetectorTrainingSetup
from kinelift.detect.crops import PersonCrops, build_crops, training_batch
from kinelift.detect.datasets import PoseSamples, concatenate_samples, read_coco_keypoints, read_lsp, read_lspet
from kinelift.detect.evaluation import evaluate_detector
from kinelift.detect.heatmaps import joints_mse_loss
from kinelift.detect.networks import build_detector
from kinelift.detect.weights import save_detector
from kinelift.errors import ValueRangeError
from kinelift.io._atomic import atomic_path, save_png, save_rows_csv

__all__ = ["DetectorTrainingResult", "training_data", "train_detector"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectorTrainingResult:
    """Where the run wrote its files, how many epochs it made and the best validation figures."""

    out_dir: Path
    weights: Path
    epochs: int
    metrics: dict[str, float]


def training_data(data: DetectorDataConfig, keypoints: str) -> tuple[PoseSamples, PoseSamples | None]:
    """Training people in the set ``keypoints`` and validation people (full labels, for the torso size)."""
    train, validation = [], None
    if data.lsp and data.lsp_train_last:
        train.append(read_lsp(data.lsp, first=1, last=data.lsp_train_last))
    if data.lsp:
        if data.lsp_validation:
            validation = read_lsp(data.lsp, first=data.lsp_train_last + 1, last=data.lsp_train_last + data.lsp_validation)
    if data.lspet:
        train.append(read_lspet(data.lspet))
    if data.coco_json:
        train.append(read_coco_keypoints(data.coco_json, data.coco_images))
    for folder in data.frames:
        frames = read_coco_keypoints(Path(folder) / "labels.json", folder)
        train.extend([frames] * data.frames_repeat)
    if not train:
        raise ValueRangeError("data", expected="at least one of lsp, lspet, coco_json, frames", got="none")
    train = concatenate_samples([t.select(keypoints, missing="unlabelled") for t in train])
    if data.require_lower_body:
        train = train.with_all_labelled()
    return train, validation


def _plot(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].semilogy(epochs, [r["train_loss"] for r in rows])
    axes[0].set(title="training loss (joints MSE)", xlabel="epoch")
    for key, label in (("pck02_torso_lower", "lower body PCK@0.2 torso"), ("pck02_torso", "all PCK@0.2 torso"), ("pck005", "PCK@0.05 crop")):
        if key in rows[0]:
            axes[1].plot(epochs, [r[key] for r in rows], label=label)
    axes[1].set(title="validation", xlabel="epoch", ylim=(0, 1))
    if axes[1].lines:
        axes[1].legend()
    fig.tight_layout()
    save_png(fig, path, dpi=100, overwrite=True)


def _selection_score(row: dict[str, float]) -> float:
    """What picks the saved epoch: validation lower-body PCK@0.2, else PCK@0.05, else minus the training loss."""
    return row.get("pck02_torso_lower", row.get("pck005", -row["train_loss"]))


def _start_from(detector: torch.nn.Module, source: str) -> None:
    """Load the weights of ``source`` (shipped name or file) into ``detector``: fine-tuning."""
    from dataclasses import asdict

    from kinelift.detect.weights import load_detector

    start = load_detector(source)
    if asdict(start.config) != asdict(detector.config):
        raise ValueRangeError("training.init_from", expected=f"weights of the configured network {asdict(detector.config)}",
                              got=f"{source}: {asdict(start.config)}")  # fmt: skip
    detector.load_state_dict(start.state_dict())
    log.info("starting from the weights of %s", source)


def train_detector(setup: DetectorTrainingSetup, *, train: PersonCrops | None = None, validation: PersonCrops | None = None,
                   progress: bool = True, resume: bool = True) -> DetectorTrainingResult:  # fmt: skip
    """Train a detector as ``setup`` says (see the module docs). ``train``/``validation`` crops
    replace the data the configuration names (tests, custom datasets)."""
    cfg, tcfg = setup.model, setup.training
    rank, world = init_distributed()
    if tcfg.threads:
        torch.set_num_threads(tcfg.threads)
    out_dir = Path(tcfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(tcfg.seed)
    rng = np.random.default_rng(tcfg.seed + rank)
    device = local_device(tcfg.device, world)
    if train is None:
        train_samples, val_samples = training_data(setup.data, cfg.keypoints)
        train = build_crops(train_samples, cfg.input_size, margin=setup.data.box_margin, progress=progress and rank == 0)
        if val_samples is not None:
            validation = build_crops(val_samples, cfg.input_size, margin=setup.data.box_margin, extent=1.0, progress=progress and rank == 0)
    log.info("training on %d people, validating on %d, %s", len(train), len(validation) if validation else 0, device)
    detector = build_detector(cfg)
    if tcfg.init_from and not (resume and (out_dir / "checkpoint.pt").exists()):
        _start_from(detector, tcfg.init_from)
    detector = detector.to(device).to(memory_format=torch.channels_last)
    averaged = AveragedModel(detector, multi_avg_fn=get_ema_multi_avg_fn(tcfg.ema_decay), use_buffers=True) if tcfg.ema_decay else None
    # decoupled weight decay (AdamW): coupled L2 swamps the small heatmap-loss gradients and stalls training at "all zero"
    optimizer = torch.optim.AdamW(detector.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    checkpoint = out_dir / "checkpoint.pt"
    epoch, rows, best = 0, [], None
    if resume and checkpoint.exists():
        # how long, where and how fast may change; a cosine schedule's rates depend on the epochs
        free = ("training.device", "training.threads", "training.max_hours", "training.compile") + (("training.epochs",) if tcfg.lr_schedule == "step" else ())
        state = resumable_state(checkpoint, setup.to_dict(), device=device, free=free)
        detector.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        epoch, rows, best = int(state["epoch"]), list(state["rows"]), state.get("best")
        if averaged is not None:
            averaged.load_state_dict(state["averaged"])
        rng.bit_generator.state = state["rng"]
        log.info("resumed from %s after epoch %d", checkpoint, epoch)
    model = torch.nn.parallel.DistributedDataParallel(detector) if world > 1 else detector
    model = torch.compile(model) if tcfg.compile else model
    autocast = device.type == "cuda" and tcfg.bf16
    flip = get_keypoint_set(cfg.keypoints).flip_indices()
    per_rank = max(1, tcfg.batch_size // world)
    steps_per_epoch = max(1, len(train) // tcfg.batch_size)
    started = time.perf_counter()
    while epoch < tcfg.epochs:
        lr = tcfg.learning_rate(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        detector.train()
        order = rng.permutation(len(train)) if world == 1 else np.random.default_rng(tcfg.seed + epoch).permutation(len(train))
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{tcfg.epochs}", disable=not progress or rank != 0, leave=False)
        for step in bar:
            index = order[step * tcfg.batch_size:(step + 1) * tcfg.batch_size][rank * per_rank:(rank + 1) * per_rank]
            if index.size == 0:
                continue
            images, target, weight, _ = training_batch(train, index, sigma=cfg.sigma, flip_indices=flip, scale=tcfg.scale,
                                                       rotation_deg=tcfg.rotation, flip=tcfg.flip, video=tcfg.video, rng=rng,
                                                       device=device)  # fmt: skip
            images = images.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                predicted = model(images)
            loss = joints_mse_loss(predicted.float(), target, weight, normalize_by_visible=tcfg.normalize_by_visible)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if averaged is not None:
                averaged.update_parameters(detector)
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{losses[-1]:.2e}")
        epoch += 1
        kept = detector if averaged is None else averaged.module
        metrics = evaluate_detector(kept, validation) if validation is not None and rank == 0 else {}
        rows.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "lr": lr, "seconds": time.perf_counter() - started, **metrics})
        log.info("epoch %d: loss %.3e, lower-body PCK@0.2 %.3f", epoch, rows[-1]["train_loss"], metrics.get("pck02_torso_lower", float("nan")))
        if rank == 0:
            score = _selection_score(rows[-1])
            improved = best is None or score >= best
            best = score if improved else best
            if improved or tcfg.keep == "last":
                save_detector(kept, out_dir / "detector.pt", metrics=rows[-1], setup=setup.to_dict(), overwrite=True)
            state = {"model": detector.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch, "rows": rows,
                     "best": best, "rng": rng.bit_generator.state, "setup": setup.to_dict()}  # fmt: skip
            if averaged is not None:
                state["averaged"] = averaged.state_dict()
            with atomic_path(checkpoint, overwrite=True) as tmp:
                torch.save(state, tmp)
            save_rows_csv(rows, out_dir / "log.csv", overwrite=True)
            _plot(rows, out_dir / "curves.png")
        if tcfg.max_hours and (time.perf_counter() - started) / 3600 >= tcfg.max_hours:
            log.warning("stopping after epoch %d: max_hours=%.2f reached", epoch, tcfg.max_hours)
            break
    best_row = (rows[-1] if tcfg.keep == "last" else max(rows, key=_selection_score)) if rows else {}
    finish_distributed(world)
    return DetectorTrainingResult(out_dir, out_dir / "detector.pt", epoch, best_row)
