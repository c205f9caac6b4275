"""BVH motion capture: hierarchy, channel orders, offsets and units, against an independent forward
kinematics (scipy's intrinsic Euler rotations), and malformed files refused by line."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from kinelift.errors import FileFormatError, ValueRangeError
from kinelift.io import load
from kinelift.io.bvh import BvhJoint, BvhMotion, bvh_positions, read_bvh, read_bvh_motion, write_bvh

ORDERS = ("ZXY", "XYZ", "YZX")


def _body(rng, frames: int = 20) -> BvhMotion:
    """A root with a spine and two legs (cm), each joint with its own rotation order, and random motion."""
    def rot(order):
        return tuple(f"{a}rotation" for a in order)

    joints = [BvhJoint("hips", -1, (0.0, 95.0, 0.0), ("Xposition", "Yposition", "Zposition", *rot("ZXY"))),
              BvhJoint("spine", 0, (0.0, 10.0, -2.0), rot("XYZ")), BvhJoint("head", 1, (0.0, 60.0, 0.0), rot("YZX")),
              BvhJoint("head_end", 2, (0.0, 15.0, 0.0), ())]  # fmt: skip
    for side, x in (("r", -9.0), ("l", 9.0)):
        top = len(joints)
        joints += [BvhJoint(f"thigh_{side}", 0, (x, -5.0, 0.0), rot(ORDERS[top % 3])),
                   BvhJoint(f"shin_{side}", top, (0.0, -43.0, 0.0), rot(ORDERS[(top + 1) % 3])),
                   BvhJoint(f"foot_{side}", top + 1, (0.0, -42.0, 0.0), rot("ZXY")),
                   BvhJoint(f"foot_{side}_end", top + 2, (0.0, -5.0, 14.0), ())]  # fmt: skip
    n = sum(len(j.channels) for j in joints)
    values = rng.uniform(-40, 40, (frames, n))
    values[:, :3] = rng.uniform(-20, 20, (frames, 3))
    return BvhMotion(tuple(joints), values, frame_time=1 / 120)


def _reference_positions(motion: BvhMotion) -> np.ndarray:
    out = np.zeros((len(motion.values), len(motion.joints), 3))
    for t, row in enumerate(motion.values):
        R, p, column = {}, {}, 0
        for i, j in enumerate(motion.joints):
            local = np.array(j.offset, dtype=float)
            angles, order = [], ""
            for c in j.channels:
                if c.endswith("position"):
                    local["XYZ".index(c[0])] += row[column]
                else:
                    angles.append(row[column])
                    order += c[0]
                column += 1
            r = Rotation.from_euler(order, angles, degrees=True).as_matrix() if order else np.eye(3)  # uppercase: intrinsic
            if j.parent < 0:
                R[i], p[i] = r, local
            else:
                R[i], p[i] = R[j.parent] @ r, p[j.parent] + R[j.parent] @ local
            out[t, i] = p[i]
    return out


def test_bvh_round_trip_and_forward_kinematics(tmp_path, rng):
    motion = _body(rng)
    write_bvh(motion, tmp_path / "walk.bvh")
    back = read_bvh_motion(tmp_path / "walk.bvh")
    assert [j.name for j in back.joints] == [j.name for j in motion.joints] and back.frame_time == motion.frame_time
    np.testing.assert_array_equal(back.values, motion.values)
    np.testing.assert_allclose(bvh_positions(back), _reference_positions(motion), atol=1e-9)
    tracks = read_bvh(tmp_path / "walk.bvh", units="cm")
    assert tracks.units == "m" and tracks.coordinate_frame == "ground" and tracks.fps == pytest.approx(120.0)
    np.testing.assert_allclose(tracks.positions, _reference_positions(motion) / 100.0, atol=1e-11)
    assert load(tmp_path / "walk.bvh", units="cm").tracks[0].keypoint_names == tracks.keypoint_names


def test_bvh_units_must_be_given_and_fit_a_body(tmp_path, rng):
    write_bvh(_body(rng), tmp_path / "walk.bvh")
    with pytest.raises(ValueRangeError, match="do not state it"):
        read_bvh(tmp_path / "walk.bvh")
    with pytest.raises(FileFormatError, match="look like cm"):
        read_bvh(tmp_path / "walk.bvh", units="m")
    with pytest.raises(ValueRangeError, match="BVH input"):
        load(tmp_path / "walk.bvh", format="mot", units="cm")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.replace("MOTION", "MOTIONS"), "no .MOTION. line"),
    (lambda s: s.replace("}", "", 1), "open"),
    (lambda s: s.replace("Zrotation", "Qrotation", 1), "unknown channels"),
    (lambda s: s.rsplit("\n", 2)[0] + "\n", "Frames: 20"),
    (lambda s: s.replace("OFFSET 0.0 95.0", "OFFSET zero 95.0"), "not a number"),
    (lambda s: s.replace("Frame Time", "Frame Rate"), "Frame Time"),
])  # fmt: skip
def test_malformed_bvh_files_are_refused_by_line(tmp_path, rng, edit, message):
    write_bvh(_body(rng), tmp_path / "ok.bvh")
    (tmp_path / "bad.bvh").write_text(edit((tmp_path / "ok.bvh").read_text()))
    with pytest.raises(FileFormatError, match=message):
        read_bvh(tmp_path / "bad.bvh", units="cm")
