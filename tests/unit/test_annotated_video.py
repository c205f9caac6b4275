"""The annotated video: frame count and size, drawing where the keypoints are, grey others, text, errors."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.detect.video import iter_frames
from kinelift.errors import ShapeError, ValueRangeError
from kinelift.pipeline.annotated_video import annotate_frame, write_annotated_video, write_contact_sheet

H, W, N = 121, 161, 10  # the test video is (H - 1) x (W - 1): yuv420p needs even sizes


def _video(path, n=N):
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(30000, 1001))
        stream.width, stream.height, stream.pix_fmt = W - 1, H - 1, "yuv420p"
        for i in range(n):
            frame = np.full((H - 1, W - 1, 3), 40 + 3 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _person(dx=0.0, n=N, times=None):
    p = np.array([[70.0, 60.0], [90.0, 60.0], [70.0, 85.0], [90.0, 85.0], [70.0, 110.0], [90.0, 110.0]]) + [dx, 0.0]
    p = np.tile(p, (n, 1, 1)) + np.linspace(0, 10, n)[:, None, None] * [1.0, 0.0]
    return Tracks(p, keypoints="LOWER-6", time=np.arange(n) * 1001 / 30000 if times is None else times, confidence=np.full((n, 6), 0.9))


def test_every_frame_is_written_with_the_subject_drawn_where_its_keypoints_are(tmp_path):
    _video(tmp_path / "in.mp4")
    frames_in = np.concatenate([f for f, _ in iter_frames(tmp_path / "in.mp4")])
    subject = _person()
    seen = np.ones(N, bool)
    seen[7:] = False
    angles = TimeSeriesTable(subject.time, np.full((N, 2), np.deg2rad(45.0)), ["knee_flexion_r", "hip_flexion_r"], ["rad", "rad"])
    video = write_annotated_video(tmp_path / "in.mp4", tmp_path / "out.mp4", subject, others=[_person(dx=-50.0)], angles=angles, seen=seen,
                                  stills_at=[0.0, 0.9], progress=False)  # fmt: skip
    out = np.concatenate([f for f, _ in iter_frames(tmp_path / "out.mp4")])
    assert video.n_frames == N and out.shape == frames_in.shape
    changed = np.abs(out.astype(int) - frames_in.astype(int)).max(-1) > 40
    for k in range(N):  # every keypoint of the subject is drawn on its frame
        for x, y in subject.positions[k].round().astype(int):
            assert changed[k, y - 1 : y + 2, x - 1 : x + 2].any()
    green = (out[0, :, :, 1].astype(int) - out[0, :, :, 0]) > 80  # confidence 0.9: green points
    assert green[55:115, 65:105].any() and not green[55:115, 10:40].any()  # the other person is grey
    assert changed[0, :40, :40].any()  # the angles' text, top left
    assert sorted(video.stills) == [0.0, 0.9] and video.stills[0.9].shape == out.shape[1:]
    assert all(still.base is None for still in video.stills.values())  # arrays of their own, not views holding a chunk of frames
    sheet = write_contact_sheet(list(video.stills.values()), tmp_path / "sheet.png", columns=2, width=80)
    import cv2

    assert cv2.imread(str(sheet)).shape == (60, 160, 3)


def test_a_video_read_at_max_fps_is_written_at_the_rate_read_with_the_subject_on_every_frame(tmp_path):
    _video(tmp_path / "in.mp4", n=N)  # 29.97 frames/s
    every_other = _person().positions[::2]
    times = np.arange(0, N, 2) * 1001 / 30000
    subject = Tracks(every_other, keypoints="LOWER-6", time=times, confidence=np.full((len(times), 6), 0.9))
    video = write_annotated_video(tmp_path / "in.mp4", tmp_path / "out.mp4", subject, progress=False, max_fps=15.0)
    out = [(f, t) for f, t in iter_frames(tmp_path / "out.mp4")]
    frames, out_times = np.concatenate([f for f, _ in out]), np.concatenate([t for _, t in out])
    assert video.n_frames == len(times) == len(frames)
    np.testing.assert_allclose(np.diff(out_times), 2 * 1001 / 30000, rtol=0.01)  # the rate read: the video keeps its duration
    green = (frames[..., 1].astype(int) - frames[..., 0]) > 80
    assert all(green[k, 55:115, 65:105].any() for k in range(len(frames))), "the subject is drawn on every frame written"


def test_frames_without_a_sample_show_no_subject_and_bad_input_is_refused(tmp_path):
    image = np.zeros((H, W, 3), np.uint8)
    subject = _person()
    none = annotate_frame(image, subject, -1)
    assert not none[50:120, 60:110].any()  # nothing at the subject's place
    assert none[:40].any()  # "subject not seen"
    assert not image.any()  # a copy: the frame given is left as it was
    drawn = annotate_frame(image, subject, 2)
    same = annotate_frame(image, subject, 2, in_place=True)  # drawn on the frame itself (the video writer's own chunk)
    assert same is image and np.array_equal(same, drawn) and drawn.any()
    with pytest.raises(ValueRangeError, match="in place"):
        annotate_frame(np.zeros((H, 2 * W, 3), np.uint8)[:, ::2], subject, 2, in_place=True)
    _video(tmp_path / "in.mp4", n=3)
    with pytest.raises(ShapeError, match="2D"):
        write_annotated_video(tmp_path / "in.mp4", tmp_path / "x.mp4", subject.replace(positions=np.zeros((N, 6, 3)), units="m",
                              coordinate_frame="ground"), progress=False)  # fmt: skip
    with pytest.raises(ShapeError, match="seen"):
        write_annotated_video(tmp_path / "in.mp4", tmp_path / "x.mp4", subject, seen=np.ones(3, bool), progress=False)
    with pytest.raises(ValueRangeError, match="images"):
        write_contact_sheet([], tmp_path / "s.png")
    assert not (tmp_path / "x.mp4").exists()


def test_cached_text_looks_as_opencv_draws_it():
    """The angle lines are drawn from cached coverage patches (putText once per distinct line):
    the frame differs from OpenCV's direct anti-aliased drawing by at most 3 grey levels, and text
    at the image's edge is clipped, not an error."""
    import cv2

    from kinelift.pipeline.annotated_video import _draw_text

    image = np.full((200, 300, 3), 120, np.uint8)
    image[:, :150] = 30
    lines, scale = ["knee flexion r:    47 deg", "hip flexion l:    -5 deg"], 0.7
    ours, theirs = image.copy(), image.copy()
    _draw_text(ours, lines, scale)
    height = int(round(20 * scale))
    for i, line in enumerate(lines):
        origin = (int(round(8 * scale)), int(round(8 * scale)) + height * (i + 1))
        cv2.putText(theirs, line, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.55 * scale, (0, 0, 0), max(2, int(round(4 * scale))), cv2.LINE_AA)
        cv2.putText(theirs, line, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.55 * scale, (255, 255, 255), max(1, int(round(1.5 * scale))), cv2.LINE_AA)
    assert (theirs != image).sum() > 500 and np.abs(ours.astype(int) - theirs.astype(int)).max() <= 3
    small = np.zeros((12, 40, 3), np.uint8)
    _draw_text(small, lines, scale)  # mostly outside: clipped
    assert small.any()


def test_a_box_label_keeps_out_of_the_angle_lines():
    """A person filling a portrait frame has the top of the box under the angle lines: the label
    goes under the box, or inside its bottom edge where the frame ends there."""
    from kinelift.pipeline.annotated_video import _label_origin, _text_extent

    covered = _text_extent(["hip flexion r:    3 deg", "knee flexion r:    1 deg"], 1.0)
    assert 150 < covered[0] < 320 and 40 < covered[1] < 80  # px at scale 1
    lo, hi = np.array([400.0, 30.0]), np.array([600.0, 900.0])
    assert _label_origin(lo, hi, 12, covered, 1000) == (400, 26)  # clear of the text: above the box
    lo[0] = 20.0
    assert _label_origin(lo, hi, 12, covered, 1000) == (20, 916)  # under the text: below the box
    assert _label_origin(lo, hi, 12, covered, 910) == (20, 896)  # the frame ends below the box: inside its bottom edge
    assert _text_extent([], 1.0) == (0, 0)
