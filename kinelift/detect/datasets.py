"""Labelled pose images: Leeds Sports Pose (LSP), LSP Extended (LSPET) and COCO keypoints.

A :class:`PoseSamples` is one labelled person per entry: the image file, keypoints in image
pixels (0-based pixel centres: x right, y down), a visibility mask and the person box
``(x, y, width, height)``. Left and right are the person's own in all three datasets.

Visibility flags differ between the datasets, and the readers turn them into one mask:

* LSP ``joints.mat``: ``(3, 14, N)``, flag **0 = visible**, 1 = occluded (occluded joints are
  still located; they count as labelled but not visible).
* LSPET ``joints.mat``: ``(14, 3, N)``, flag **1 = visible**; flag-0 joints carry placeholder
  coordinates and are not labelled.
* COCO: ``v`` 2 visible, 1 labelled but occluded, 0 not labelled.

``labelled`` says whether a point has a position to learn from (the loss weight), ``visible``
whether it is seen (the LSP protocol scores all labelled joints). The MATLAB coordinates of
LSP/LSPET are 1-based and are shifted by -1.

Examples
--------
>>> import numpy as np
>>> s = PoseSamples(("a.jpg",), np.zeros((1, 6, 2)), np.ones((1, 6), bool), np.ones((1, 6), bool),
...                 np.array([[0.0, 0.0, 10.0, 20.0]]), "LOWER-6")
>>> len(s), s.keypoint_set.name
(1, 'LOWER-6')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinelift.core import KeypointSet, get_keypoint_set
from kinelift.errors import FileFormatError, ShapeError, ValueRangeError
from kinelift.io._common import existing_path, read_json

__all__ = ["PoseSamples", "read_lsp", "read_lspet", "read_coco_keypoints", "concatenate_samples", "LOWER_BODY"]

LOWER_BODY = ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle")
"""The six leg joints (the LOWER-6 set, LSP's first six)."""


@dataclass(frozen=True)
class PoseSamples:
    """Labelled people: ``image_paths`` (N,), ``keypoints`` (N, K, 2) px, ``labelled`` and
    ``visible`` (N, K) bool, ``boxes`` (N, 4) ``x, y, width, height`` px, ``keypoint_set``, and
    for COCO the segment ``areas`` (N,) px² (OKS needs them)."""

    image_paths: tuple[str, ...]
    keypoints: np.ndarray
    labelled: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray
    keypoints_name: str | KeypointSet
    areas: np.ndarray | None = None

    def __post_init__(self) -> None:
        n, k = len(self.image_paths), len(self.keypoint_set)
        object.__setattr__(self, "image_paths", tuple(str(p) for p in self.image_paths))
        checks = {"keypoints": (np.float64, (n, k, 2)), "labelled": (bool, (n, k)), "visible": (bool, (n, k)), "boxes": (np.float64, (n, 4))}
        for name, (dtype, shape) in checks.items():
            value = np.array(getattr(self, name), dtype=dtype)
            if value.shape != shape:
                raise ShapeError(name, expected=str(shape), got=value.shape)
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        if self.areas is not None:
            areas = np.array(self.areas, dtype=np.float64).reshape(-1)
            if areas.shape != (n,):
                raise ShapeError("areas", expected=f"({n},)", got=areas.shape)
            areas.setflags(write=False)
            object.__setattr__(self, "areas", areas)

    @property
    def keypoint_set(self) -> KeypointSet:
        return get_keypoint_set(self.keypoints_name)

    def __len__(self) -> int:
        return len(self.image_paths)

    def take(self, index: np.ndarray | Sequence[int]) -> PoseSamples:
        """The samples at ``index`` (an index array or boolean mask)."""
        index = np.asarray(index)
        index = np.flatnonzero(index) if index.dtype == bool else index
        return PoseSamples(tuple(self.image_paths[i] for i in index), self.keypoints[index], self.labelled[index],
                           self.visible[index], self.boxes[index], self.keypoints_name,
                           None if self.areas is None else self.areas[index])  # fmt: skip

    def select(self, keypoints: str, *, missing: str = "error") -> PoseSamples:
        """The same people labelled with the points of the set ``keypoints``, matched by name.

        ``missing="error"`` (default) refuses a set with points these samples do not have;
        ``"unlabelled"`` keeps them as unlabelled points (no position to learn from: e.g. COCO-17
        labels, which have no neck or head top, for an LSP-14 network).

        Examples
        --------
        >>> s = PoseSamples(("a.jpg",), np.ones((1, 17, 2)), np.ones((1, 17), bool), np.ones((1, 17), bool),
        ...                 np.array([[0.0, 0.0, 10.0, 20.0]]), "COCO-17")
        >>> s.select("LSP-14", missing="unlabelled").labelled.sum()
        np.int64(12)
        """
        target = get_keypoint_set(keypoints)
        if target.name == self.keypoint_set.name:
            return self
        if missing not in ("error", "unlabelled"):
            raise ValueRangeError("missing", expected="'error' or 'unlabelled'", got=missing)
        names = self.keypoint_set.names
        absent = [n for n in target.names if n not in names]
        if absent and missing == "error":
            self.keypoint_set.indices(target.names)  # UnknownNameError naming every absent point
        if len(absent) == len(target):
            raise ShapeError("keypoints", expected=f"some of the points of {target.name}", got=self.keypoint_set.name)
        n, k = len(self), len(target)
        points, labelled, visible = np.zeros((n, k, 2)), np.zeros((n, k), bool), np.zeros((n, k), bool)
        have = [j for j, name in enumerate(target.names) if name in names]
        idx = self.keypoint_set.indices([target.names[j] for j in have])
        points[:, have], labelled[:, have], visible[:, have] = self.keypoints[:, idx], self.labelled[:, idx], self.visible[:, idx]
        return PoseSamples(self.image_paths, points, labelled, visible, self.boxes, target.name, self.areas)

    def with_all_labelled(self, names: Sequence[str] = LOWER_BODY) -> PoseSamples:
        """The samples whose points ``names`` are all labelled and visible (e.g. the whole lower body)."""
        idx = self.keypoint_set.indices(names)
        return self.take(np.all(self.labelled[:, idx] & self.visible[:, idx], axis=1))


def _load_mat(path: Path) -> np.ndarray:
    from scipy.io import loadmat

    try:
        joints = loadmat(path)["joints"]
    except (OSError, ValueError, KeyError) as err:
        raise FileFormatError(path, f"cannot read the 'joints' variable ({type(err).__name__}: {err})",
                              expected="a MATLAB file with a 'joints' array") from None  # fmt: skip
    return np.asarray(joints, dtype=np.float64)


def _box(points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Tight box ``(x, y, w, h)`` of the masked points of each sample."""
    big = np.where(mask[..., None], points, np.nan)
    lo, hi = np.nanmin(big, axis=1), np.nanmax(big, axis=1)
    return np.concatenate([lo, hi - lo], axis=1)


def _existing_images(folder: Path, names: list[str]) -> np.ndarray:
    return np.array([(folder / "images" / n).exists() for n in names])


def read_lsp(folder: str | os.PathLike[str], *, first: int = 1, last: int | None = None) -> PoseSamples:
    """LSP images ``im{first:04d}`` .. ``im{last:04d}`` (1-based, inclusive) that exist in ``folder/images``.

    Every LSP joint is labelled (occluded ones too); ``visible`` is ``flag == 0``. The box is the
    tight box of all 14 joints.
    """
    folder = existing_path(folder, kind="folder")
    joints = _load_mat(existing_path(folder / "joints.mat"))
    if joints.ndim != 3 or joints.shape[:2] != (3, 14):
        raise FileFormatError(folder / "joints.mat", f"'joints' has shape {joints.shape}", expected="LSP's (3, 14, images)")
    count = joints.shape[2]
    last = count if last is None else last
    if not (isinstance(first, (int, np.integer)) and isinstance(last, (int, np.integer)) and 1 <= first <= last <= count):
        raise ValueRangeError("first/last", expected=f"image numbers with 1 <= first <= last <= {count} (the images joints.mat labels)",
                              got=(first, last))  # fmt: skip
    numbers = np.arange(first, last + 1)
    names = [f"im{i:04d}.jpg" for i in numbers]
    present = _existing_images(folder, names)
    idx = numbers[present] - 1
    points = joints[:2, :, idx].transpose(2, 1, 0) - 1.0
    labelled = np.ones(points.shape[:2], bool)
    visible = joints[2, :, idx] == 0  # (images, 14): the advanced index comes first
    return PoseSamples(tuple(str(folder / "images" / n) for n, p in zip(names, present) if p), points, labelled, visible,
                       _box(points, labelled), "LSP-14")  # fmt: skip


def read_lspet(folder: str | os.PathLike[str]) -> PoseSamples:
    """Every LSPET image present in ``folder/images``; flag 1 = visible and labelled, 0 = unlabelled.

    The box is the tight box of the labelled joints.
    """
    folder = existing_path(folder, kind="folder")
    joints = _load_mat(existing_path(folder / "joints.mat"))
    if joints.ndim != 3 or joints.shape[:2] != (14, 3):
        raise FileFormatError(folder / "joints.mat", f"'joints' has shape {joints.shape}", expected="LSPET's (14, 3, images)")
    names = [f"im{i:05d}.jpg" for i in range(1, joints.shape[2] + 1)]
    present = np.flatnonzero(_existing_images(folder, names))
    points = joints[:, :2, present].transpose(2, 0, 1) - 1.0
    labelled = joints[:, 2, present].T == 1  # (images, 14)
    points = np.where(labelled[..., None], points, 0.0)
    keep = labelled.sum(axis=1) >= 2
    samples = PoseSamples(tuple(str(folder / "images" / names[i]) for i in present), points, labelled, labelled.copy(),
                          np.zeros((len(present), 4)), "LSP-14")  # fmt: skip
    samples = samples.take(keep)
    return PoseSamples(samples.image_paths, samples.keypoints, samples.labelled, samples.visible,
                       _box(samples.keypoints, samples.labelled), "LSP-14")  # fmt: skip


def read_coco_keypoints(annotations: str | os.PathLike[str], images: str | os.PathLike[str], *, min_keypoints: int = 1) -> PoseSamples:
    """People of a COCO keypoint annotation file (not crowds, at least ``min_keypoints`` labelled), COCO-17.

    The box is the annotation's ``bbox``. Images are looked up in the folder ``images`` by ``file_name``.
    """
    path = existing_path(annotations)
    folder = existing_path(images, kind="folder")
    doc = read_json(path)
    if not isinstance(doc, dict) or not {"images", "annotations"} <= set(doc):
        raise FileFormatError(path, "no 'images' and 'annotations'", expected="COCO keypoint annotations")
    files = {img["id"]: img["file_name"] for img in doc["images"]}
    rows = []
    for ann in doc["annotations"]:
        if ann.get("iscrowd", 0) or ann.get("num_keypoints", 0) < min_keypoints:
            continue
        kp = np.asarray(ann.get("keypoints", []), dtype=np.float64)
        if kp.shape != (51,) or ann["image_id"] not in files:
            raise FileFormatError(path, f"annotation {ann.get('id')}: keypoints of length {kp.size} or unknown image",
                                  expected="17 x (x, y, v) of a listed image")  # fmt: skip
        rows.append((str(folder / files[ann["image_id"]]), kp.reshape(17, 3), np.asarray(ann["bbox"], dtype=np.float64),
                     float(ann.get("area", ann["bbox"][2] * ann["bbox"][3]))))  # fmt: skip
    if not rows:
        raise FileFormatError(path, "no person with labelled keypoints", expected="COCO keypoint annotations")
    kp = np.stack([r[1] for r in rows])
    return PoseSamples(tuple(r[0] for r in rows), kp[..., :2], kp[..., 2] > 0, kp[..., 2] == 2,
                       np.stack([r[2] for r in rows]), "COCO-17", np.array([r[3] for r in rows]))  # fmt: skip


def concatenate_samples(parts: Sequence[PoseSamples]) -> PoseSamples:
    """Samples of several datasets with the same keypoint set, one after the other."""
    names = {p.keypoint_set.name for p in parts}
    if len(names) != 1:
        raise ShapeError("samples", expected="one keypoint set", got=tuple(sorted(names)))
    areas = None if any(s.areas is None for s in parts) else np.concatenate([s.areas for s in parts])
    return PoseSamples(tuple(p for s in parts for p in s.image_paths), np.concatenate([s.keypoints for s in parts]),
                       np.concatenate([s.labelled for s in parts]), np.concatenate([s.visible for s in parts]),
                       np.concatenate([s.boxes for s in parts]), parts[0].keypoints_name, areas)  # fmt: skip
