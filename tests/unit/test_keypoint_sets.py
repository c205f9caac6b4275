import numpy as np
import pytest

from kinelift.core.keypoint_conversion import conversion_indices, convert_keypoints
from kinelift.core.keypoint_sets import KEYPOINT_SETS, KeypointSet, get_keypoint_set
from kinelift.errors import KeypointConversionError, UnknownNameError, ValueRangeError

EXPECTED_SIZES = {"COCO-17": 17, "LOWER-6": 6, "LSP-14": 14, "BODY-25": 25, "HALPE-26": 26, "MEDIAPIPE-33": 33, "H36M-17": 17, "HMR-19": 19, "PENN-13": 13}


@pytest.mark.parametrize("name,size", EXPECTED_SIZES.items())
def test_builtin_sets_are_consistent(name, size):
    ks = get_keypoint_set(name)
    assert len(ks) == size
    flip = ks.flip_indices()
    assert sorted(flip) == list(range(size))
    assert all(flip[flip[i]] == i for i in range(size))
    for a, b in ks.lr_pairs:
        assert ks.names[a].startswith("left_") and ks.names[b] == "right_" + ks.names[a][5:]
    # every point is drawn, and the limbs form one connected body (the sources' own skeletons leave
    # the face of HALPE and MediaPipe unattached, so only the limbs are required to connect)
    assert set(np.ravel(ks.edges)) == set(range(size))
    limbs = [i for i, n in enumerate(ks.names) if n.split("_")[-1] in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")]
    seen, frontier = {limbs[0]}, [limbs[0]]
    while frontier:
        i = frontier.pop()
        for a, b in ks.edges:
            for u, v in ((a, b), (b, a)):
                if u == i and v not in seen:
                    seen.add(v)
                    frontier.append(v)
    assert set(limbs) <= seen, f"{name}: limb points not connected: {set(limbs) - seen}"


def test_known_orders():
    assert get_keypoint_set("COCO-17").names[13] == "left_knee"
    assert get_keypoint_set("BODY-25").names[8] == "mid_hip"
    assert get_keypoint_set("LOWER-6").names == get_keypoint_set("LSP-14").names[:6]
    assert get_keypoint_set("HMR-19").names[12:15] == ("neck", "head_top", "nose")
    assert get_keypoint_set("coco_17") is KEYPOINT_SETS["COCO-17"]


def test_unknown_set_and_point_names():
    with pytest.raises(UnknownNameError, match="keypoint set"):
        get_keypoint_set("COCO-18-ish")
    with pytest.raises(UnknownNameError, match="left_toe"):
        get_keypoint_set("COCO-17").indices(["left_knee", "left_toe"])


def test_custom_set_validation():
    with pytest.raises(ValueRangeError, match="unique"):
        KeypointSet.custom(["a", "a"])
    with pytest.raises(ValueRangeError, match="edges"):
        KeypointSet("x", ("a", "b"), ((0, 5),))


def test_body25_to_coco_to_lower6_chain():
    body = get_keypoint_set("BODY-25")
    p = np.arange(25 * 2, dtype=float).reshape(1, 25, 2)
    c = np.linspace(0.1, 1.0, 25)[None]
    coco_p, coco_c = convert_keypoints(p, c, "BODY-25", "COCO-17")
    low_p, low_c = convert_keypoints(coco_p, coco_c, "COCO-17", "LOWER-6")
    for j, name in enumerate(get_keypoint_set("LOWER-6").names):
        assert np.array_equal(low_p[0, j], p[0, body.index(name)])
        assert low_c[0, j] == c[0, body.index(name)]
    assert conversion_indices("BODY-25", "LOWER-6") == [body.index(n) for n in get_keypoint_set("LOWER-6").names]


def test_conversion_refuses_missing_points_and_derives_on_request():
    p = np.random.default_rng(0).random((3, 17, 2))
    c = np.ones((3, 17))
    with pytest.raises(KeypointConversionError, match="head_top"):
        convert_keypoints(p, c, "COCO-17", "LSP-14")
    neck_and_hips = KeypointSet("neck-and-hips", ("neck", "mid_hip", "left_hip"))
    with pytest.raises(KeypointConversionError, match="allow_derived"):
        convert_keypoints(p, c, "COCO-17", neck_and_hips)
    with pytest.raises(KeypointConversionError, match="even derived"):
        convert_keypoints(p, c, "COCO-17", "H36M-17", allow_derived=True)  # spine, thorax... not all derivable
    c[1, 11] = 0.3
    q, qc = convert_keypoints(p, c, "COCO-17", neck_and_hips, allow_derived=True)
    assert np.allclose(q[:, 0], 0.5 * (p[:, 5] + p[:, 6]))
    assert np.allclose(q[:, 1], 0.5 * (p[:, 11] + p[:, 12]))
    assert qc[1, 1] == 0.3


def test_conversion_can_leave_the_points_the_source_lacks_absent():
    p = np.random.default_rng(0).random((3, 17, 2))
    c = np.full((3, 17), 0.7)
    lsp = get_keypoint_set("LSP-14")
    q, qc = convert_keypoints(p, c, "COCO-17", "LSP-14", missing="absent")
    absent = lsp.indices(["neck", "head_top"])
    assert np.isnan(q[:, absent]).all() and (qc[:, absent] == 0).all()
    knee = get_keypoint_set("COCO-17").indices(["left_knee"])[0]
    assert np.array_equal(q[:, lsp.indices(["left_knee"])[0]], p[:, knee]) and qc[0, 0] == 0.7
    q, qc = convert_keypoints(p, c, "COCO-17", "LSP-14", missing="absent", allow_derived=True)  # the neck derived, the head top absent
    assert np.allclose(q[:, absent[0]], 0.5 * (p[:, 5] + p[:, 6])) and np.isnan(q[:, absent[1]]).all()
    with pytest.raises(ValueRangeError, match="missing"):
        convert_keypoints(p, c, "COCO-17", "LSP-14", missing="drop")
