"""Video frames labelled by tracks (a teacher's labels) and training on them."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from kinelift.core import Tracks, get_keypoint_set
from kinelift.detect.config import DetectorDataConfig, load_detector_config
from kinelift.detect.datasets import PoseSamples, read_coco_keypoints
from kinelift.detect.frame_labels import write_frame_labels
from kinelift.detect.training import training_data
from kinelift.errors import OutputExistsError, ShapeError, UnknownNameError, ValueRangeError


def _frames(folder, n=6, size=(48, 64)):
    folder.mkdir()
    for i in range(n):
        image = np.zeros((*size, 3), np.uint8)
        image[:, :, 2] = 20 * i  # red grows frame by frame (cv2 writes BGR)
        cv2.imwrite(str(folder / f"f{i:02d}.png"), image)
    return folder


def _mediapipe_tracks(n, fps=10.0, start=0.0):
    """MEDIAPIPE-33 tracks whose points sit on a line, frame i shifted by i px."""
    k = len(get_keypoint_set("MEDIAPIPE-33"))
    positions = np.linspace([10.0, 5.0], [40.0, 45.0], k)[None] + np.arange(n)[:, None, None] * np.array([1.0, 0.0])
    return Tracks(positions, keypoints="MEDIAPIPE-33", confidence=np.full((n, k), 0.9), fps=fps, start_time=start, units="px")


def test_the_frames_a_track_covers_are_written_with_its_points_in_coco_17(tmp_path):
    video = _frames(tmp_path / "clip")
    tracks = _mediapipe_tracks(6)
    confidence = tracks.confidence.copy()
    confidence[2, :] = 0.1  # frame 2: nobody labelled
    confidence[4, get_keypoint_set("MEDIAPIPE-33").indices(["left_ankle"])] = 0.3  # frame 4: one point unlabelled
    tracks = tracks.replace(confidence=confidence)
    out = write_frame_labels(video, tracks, tmp_path / "labels", fps=10.0, progress=False)
    doc = json.loads((out / "labels.json").read_text())
    assert [im["frame"] for im in doc["images"]] == [0, 1, 3, 4, 5]
    assert doc["categories"][0]["keypoints"] == list(get_keypoint_set("COCO-17").names)
    samples = read_coco_keypoints(out / "labels.json", out)
    coco = get_keypoint_set("COCO-17")
    expected = tracks.to_keypoint_set("COCO-17").positions
    np.testing.assert_allclose(samples.keypoints[3][samples.labelled[3]], expected[4][samples.labelled[3]], atol=0.01)
    assert not samples.labelled[3, coco.indices(["left_ankle"])[0]] and samples.labelled[3].sum() == 16
    # the image is the frame itself, in RGB order on disk as any JPEG
    image = cv2.imread(str(out / doc["images"][2]["file_name"]))
    assert abs(int(image[..., 2].mean()) - 60) <= 2 and image[..., :2].max() <= 3
    # the box is the tight box of the labelled points
    x, y, w, h = doc["annotations"][0]["bbox"]
    points = samples.keypoints[0][samples.labelled[0]]
    np.testing.assert_allclose([x, y, x + w, y + h], [*points.min(axis=0), *points.max(axis=0)], atol=0.01)


def test_track_frames_are_matched_to_the_video_by_time_and_every_thins_the_video(tmp_path):
    video = _frames(tmp_path / "clip", n=8)
    thinned = _mediapipe_tracks(4, fps=5.0)  # times 0, 0.2, 0.4, 0.6: the video's frames 0, 2, 4, 6
    out = write_frame_labels(video, thinned, tmp_path / "a", fps=10.0, progress=False)
    doc = json.loads((out / "labels.json").read_text())
    assert [im["frame"] for im in doc["images"]] == [0, 2, 4, 6]
    first = np.array(doc["annotations"][1]["keypoints"]).reshape(17, 3)
    np.testing.assert_allclose(first[0, 0], thinned.to_keypoint_set("COCO-17").positions[1, 0, 0], atol=0.01)
    late = _mediapipe_tracks(8, start=0.3)  # starts at frame 3
    doc = json.loads((write_frame_labels(video, late, tmp_path / "b", fps=10.0, every=2, progress=False) / "labels.json").read_text())
    assert [im["frame"] for im in doc["images"]] == [4, 6]
    # two people in one frame: one image, two annotations
    doc = json.loads((write_frame_labels(video, [thinned, late], tmp_path / "c", fps=10.0, progress=False) / "labels.json").read_text())
    assert len(doc["images"]) == 7 and len(doc["annotations"]) == 9


def test_bad_tracks_and_options_are_refused_and_nothing_is_left(tmp_path):
    video = _frames(tmp_path / "clip", n=3)
    tracks = _mediapipe_tracks(3)
    with pytest.raises(ValueRangeError, match="2D pixel"):
        write_frame_labels(video, tracks.replace(units="m"), tmp_path / "x", fps=10.0, progress=False)
    with pytest.raises(ValueRangeError, match="hips, knees and ankles"):
        write_frame_labels(video, tracks.select(["nose", "left_hip", "right_hip"]), tmp_path / "x", fps=10.0, progress=False)
    with pytest.raises(ValueRangeError, match="frame rate for the image folder"):
        write_frame_labels(video, tracks, tmp_path / "x", progress=False)
    with pytest.raises(ValueRangeError, match="every"):
        write_frame_labels(video, tracks, tmp_path / "x", fps=10.0, every=0, progress=False)
    with pytest.raises(ShapeError, match="image size"):
        write_frame_labels(video, tracks.with_image_size(640, 480), tmp_path / "x", fps=10.0, progress=False)
    with pytest.raises(ValueRangeError, match="a person with at least"):
        write_frame_labels(video, tracks.replace(confidence=np.full(tracks.confidence.shape, 0.2)), tmp_path / "x", fps=10.0,
                           progress=False)  # fmt: skip
    assert not (tmp_path / "x").exists() and [p.name for p in tmp_path.iterdir()] == ["clip"]
    write_frame_labels(video, tracks, tmp_path / "x", fps=10.0, progress=False)
    with pytest.raises(OutputExistsError):
        write_frame_labels(video, tracks, tmp_path / "x", fps=10.0, progress=False)


def test_coco_labels_train_an_lsp_network_with_its_neck_and_head_unlabelled(tmp_path):
    samples = PoseSamples(("a.jpg",), np.arange(34.0).reshape(1, 17, 2), np.ones((1, 17), bool), np.ones((1, 17), bool),
                          np.array([[0.0, 0.0, 10.0, 20.0]]), "COCO-17")  # fmt: skip
    with pytest.raises(UnknownNameError, match="neck"):
        samples.select("LSP-14")
    lsp = samples.select("LSP-14", missing="unlabelled")
    names = get_keypoint_set("LSP-14").names
    assert [n for n, ok in zip(names, lsp.labelled[0]) if not ok] == ["neck", "head_top"]
    np.testing.assert_array_equal(lsp.keypoints[0, names.index("left_knee")], samples.keypoints[0, get_keypoint_set("COCO-17").names.index("left_knee")])
    with pytest.raises(ValueRangeError):
        samples.select("LSP-14", missing="drop")
    # the configuration's frames folders (relative to the file) are read, repeated as asked
    video = _frames(tmp_path / "clip", n=3)
    write_frame_labels(video, _mediapipe_tracks(3), tmp_path / "labels", fps=10.0, progress=False)
    (tmp_path / "d.toml").write_text('[data]\nframes = ["labels"]\nframes_repeat = 2\nlsp = ""\n')
    data = load_detector_config(tmp_path / "d.toml").data
    assert data.frames == (str(tmp_path / "labels"),)
    train, validation = training_data(data, "LSP-14")
    assert len(train) == 6 and validation is None and train.labelled.sum(axis=1).tolist() == [12] * 6
    with pytest.raises(ValueRangeError, match="frames"):
        DetectorDataConfig(frames="labels")
    with pytest.raises(ValueRangeError):
        DetectorDataConfig(frames_repeat=0)


def test_cli_label_frames(tmp_path, capsys):
    from kinelift.cli import main
    from kinelift.io import save

    video = _frames(tmp_path / "clip", n=4)
    save(tmp_path / "t.h5", tracks=[_mediapipe_tracks(4)])
    assert main(["label-frames", str(video), str(tmp_path / "t.h5"), "--out", str(tmp_path / "labels"), "--fps", "10", "--every", "2"]) == 0
    assert "2 people in 2 frames" in capsys.readouterr().out
    assert len(read_coco_keypoints(tmp_path / "labels" / "labels.json", tmp_path / "labels")) == 2
