"""Skeletal layer units: gradients of every joint and function type, errors, shapes, dtype/device."""

import numpy as np
import pytest
import torch

from kinelift.errors import FileFormatError, ShapeError, UnknownNameError, UnsupportedModelFeatureError, ValueRangeError
from kinelift.skeleton import SkeletalModel, parse_osim_string
from kinelift.skeleton import functions as fn
from kinelift.skeleton.osim_parser import MINIMAL_OSIM

FUNCTIONS = {
    "Constant": fn.Constant(0.3),
    "LinearFunction": fn.LinearFunction(0.7, -0.1),
    "PolynomialFunction": fn.PolynomialFunction([0.2, -0.5, 1.1, 0.05]),
    "SimmSpline": fn.SimmSpline([-2.0, -1.0, 0.0, 0.5, 1.5, 2.5], [0.1, 0.3, -0.2, 0.0, 0.4, 0.2]),
    "NaturalCubicSpline": fn.NaturalCubicSpline([-1.0, 0.0, 1.0], [0.0, 0.5, 0.2]),
    "PiecewiseLinearFunction": fn.PiecewiseLinearFunction([-1.0, 0.0, 1.0], [0.0, 0.5, 0.2]),
    "MultiplierFunction": fn.MultiplierFunction(fn.SimmSpline([-1.0, 0.0, 1.0, 2.0], [0.0, 0.5, 0.2, 0.1]), 1.3),
    "GCVSpline": fn.GCVSpline([-2.0, -1.4, -0.5, 0.0, 0.6, 1.2, 2.0, 2.5], [0.1, 0.3, -0.2, 0.0, 0.4, 0.2, -0.1, 0.3]),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_gradcheck(name):
    f = FUNCTIONS[name]
    # points inside, between and outside the knots (off the knots themselves, where splines are C2 only)
    x = torch.tensor([-2.7, -0.61, 0.13, 0.77, 1.91, 3.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: f(v), (x,))


def test_function_dtype_device_and_shape_follow_input():
    f = FUNCTIONS["SimmSpline"]
    for dtype in (torch.float32, torch.float64):
        x = torch.zeros(2, 3, dtype=dtype)
        y = f(x)
        assert y.dtype == dtype and y.shape == (2, 3)


def _model_xml(joint_xml: str, extra: str = "") -> str:
    return f"""<OpenSimDocument Version="40000"><Model name="m">
    <BodySet><objects><Body name="b"/><Body name="c"/></objects></BodySet>
    <JointSet><objects>{joint_xml}
      <PinJoint name="b_c"><socket_parent_frame>b_off</socket_parent_frame><socket_child_frame>/bodyset/c</socket_child_frame>
        <coordinates><Coordinate name="knee"/></coordinates>
        <frames><PhysicalOffsetFrame name="b_off"><socket_parent>/bodyset/b</socket_parent>
          <translation>0.01 -0.4 0.02</translation><orientation>0.1 -0.2 0.3</orientation></PhysicalOffsetFrame></frames>
      </PinJoint>
    </objects></JointSet>
    <MarkerSet><objects><Marker name="m1"><socket_parent_frame>/bodyset/c</socket_parent_frame><location>0.05 -0.3 0.01</location></Marker>
    </objects></MarkerSet>{extra}</Model></OpenSimDocument>"""


def _simple_joint(jtype: str, n: int) -> str:
    coords = "".join(f'<Coordinate name="q{i}"/>' for i in range(n))
    return f"""<{jtype} name="g_b"><socket_parent_frame>/ground</socket_parent_frame><socket_child_frame>b_off2</socket_child_frame>
      <coordinates>{coords}</coordinates>
      <frames><PhysicalOffsetFrame name="b_off2"><socket_parent>/bodyset/b</socket_parent>
        <translation>0.0 0.1 0.0</translation><orientation>0.2 0.0 -0.1</orientation></PhysicalOffsetFrame></frames></{jtype}>"""


CUSTOM = """<CustomJoint name="g_b"><socket_parent_frame>/ground</socket_parent_frame><socket_child_frame>/bodyset/b</socket_child_frame>
  <coordinates><Coordinate name="q0"/><Coordinate name="q1"/><Coordinate name="q2"/></coordinates>
  <SpatialTransform>
    <TransformAxis name="rotation1"><coordinates>q0</coordinates><axis>0 0 1</axis><LinearFunction name="function"><coefficients>1 0</coefficients></LinearFunction></TransformAxis>
    <TransformAxis name="rotation2"><coordinates>q1</coordinates><axis>1 0 0</axis><SimmSpline name="function"><x>-2 -1 0 1 2</x><y>-1.5 -0.9 0 0.8 1.7</y></SimmSpline></TransformAxis>
    <TransformAxis name="rotation3"><coordinates></coordinates><axis>0 1 0</axis><Constant name="function"><value>0.2</value></Constant></TransformAxis>
    <TransformAxis name="translation1"><coordinates>q0</coordinates><axis>1 0 0</axis><MultiplierFunction name="function"><SimmSpline name="function"><x>-2 -1 0 1 2</x><y>0.01 0.0 -0.01 0.0 0.02</y></SimmSpline><scale>1.1</scale></MultiplierFunction></TransformAxis>
    <TransformAxis name="translation2"><coordinates>q2</coordinates><axis>0 1 0</axis><LinearFunction name="function"><coefficients>1 0</coefficients></LinearFunction></TransformAxis>
    <TransformAxis name="translation3"><coordinates>q1</coordinates><axis>0 0 1</axis><PolynomialFunction name="function"><coefficients>0.01 0.02 0</coefficients></PolynomialFunction></TransformAxis>
  </SpatialTransform></CustomJoint>"""

JOINTS = {
    "PinJoint": _simple_joint("PinJoint", 1), "SliderJoint": _simple_joint("SliderJoint", 1), "WeldJoint": _simple_joint("WeldJoint", 0),
    "UniversalJoint": _simple_joint("UniversalJoint", 2), "GimbalJoint": _simple_joint("GimbalJoint", 3),
    "BallJoint": _simple_joint("BallJoint", 3), "PlanarJoint": _simple_joint("PlanarJoint", 3),
    "FreeJoint": _simple_joint("FreeJoint", 6), "CustomJoint": CUSTOM,
}  # fmt: skip


@pytest.mark.parametrize("jtype", sorted(JOINTS))
def test_joint_gradcheck_coordinates_scales_and_marker_offsets(jtype):
    model = SkeletalModel.from_osim_string(_model_xml(JOINTS[jtype]))
    gen = torch.Generator().manual_seed(0)
    q = (0.6 * torch.rand(2, model.n_coordinates, generator=gen, dtype=torch.float64) - 0.3).requires_grad_()
    s = (1.0 + 0.2 * torch.rand(2, 3, generator=gen, dtype=torch.float64)).requires_grad_()
    off = (0.01 * torch.rand(1, 3, generator=gen, dtype=torch.float64)).requires_grad_()

    def f(q, s, off):
        out = model(q, scales=s, marker_offsets=off)
        return out.markers, out.joint_centers, out.body_positions, out.body_rotations

    assert torch.autograd.gradcheck(f, (q, s, off))


def test_any_leading_batch_shape_and_dtype():
    model = SkeletalModel.from_osim_string(_model_xml(CUSTOM))
    for shape in [(), (5,), (2, 3)]:
        q = torch.zeros(shape + (model.n_coordinates,), dtype=torch.float32)
        out = model(q)
        assert out.markers.shape == shape + (1, 3) and out.markers.dtype == torch.float32
        assert out.body_transforms.shape == shape + (2, 4, 4)
        assert out.joint_centers.shape == shape + (2, 3)
    batched = model(torch.full((4, model.n_coordinates), 0.2, dtype=torch.float64))
    single = model(torch.full((model.n_coordinates,), 0.2, dtype=torch.float64))
    torch.testing.assert_close(batched.markers[2], single.markers)


def test_named_access_and_shape_errors():
    model = SkeletalModel.from_osim_string(MINIMAL_OSIM)
    assert model.coordinate_names == ("hip_flexion",) and model.marker_names == ("knee",)
    assert model.coordinate_index("hip_flexion") == 0
    with pytest.raises(UnknownNameError, match="hip_flexon"):
        model.coordinate_index("hip_flexon")
    with pytest.raises(ShapeError, match=r"\(\.\.\., 1\)"):
        model(torch.zeros(3, 2))
    with pytest.raises(ShapeError, match="scales"):
        model(torch.zeros(1), scales=torch.ones(2, 3))


@pytest.mark.parametrize(
    "xml,match",
    [
        (_model_xml(_simple_joint("EllipsoidJoint", 3)), "EllipsoidJoint 'g_b'"),
        (_model_xml(CUSTOM.replace('<Constant name="function"><value>0.2</value></Constant>', '<Sine name="function"/>')), "Sine"),
        (_model_xml(CUSTOM, '<ConstraintSet><objects><WeldConstraint name="w"/></objects></ConstraintSet>'), "WeldConstraint 'w'"),
    ],
)
def test_unsupported_features_fail_by_name(xml, match):
    with pytest.raises(UnsupportedModelFeatureError, match=match):
        SkeletalModel.from_osim_string(xml)


def test_malformed_models_fail_clearly():
    with pytest.raises(FileFormatError, match="invalid XML"):
        parse_osim_string("<OpenSimDocument><Model>")
    short = '<GCVSpline name="function"><half_order>3</half_order><x>0 1 2</x><y>0 1 0</y></GCVSpline>'
    with pytest.raises(FileFormatError, match="GCVSpline.*g_b.*6"):
        parse_osim_string(_model_xml(CUSTOM.replace('<Constant name="function"><value>0.2</value></Constant>', short)))
    with pytest.raises(FileFormatError, match="frame 'nowhere'"):
        parse_osim_string(_model_xml(CUSTOM).replace("<socket_child_frame>/bodyset/c</socket_child_frame>", "<socket_child_frame>nowhere</socket_child_frame>"))
    with pytest.raises(FileFormatError, match="2 numbers"):
        parse_osim_string(_model_xml(CUSTOM).replace("<location>0.05 -0.3 0.01</location>", "<location>0.05 -0.3</location>"))


def test_coupler_sets_the_dependent_coordinate():
    extra = """<ConstraintSet><objects><CoordinateCouplerConstraint name="k">
      <coupled_coordinates_function><LinearFunction><coefficients>0.5 0.1</coefficients></LinearFunction></coupled_coordinates_function>
      <independent_coordinate_names>q0</independent_coordinate_names><dependent_coordinate_name>knee</dependent_coordinate_name>
      <scale_factor>2</scale_factor></CoordinateCouplerConstraint></objects></ConstraintSet>"""
    model = SkeletalModel.from_osim_string(_model_xml(CUSTOM, extra))
    q = torch.tensor([0.4, 0.0, 0.0, 99.0], dtype=torch.float64)
    out = model(q)
    assert out.coordinates[3].item() == pytest.approx(2 * (0.5 * 0.4 + 0.1))
    assert model.coordinate_units["knee"] == ""


@pytest.mark.slow
def test_compiled_fk_equals_the_model():
    """torch.compile of the component-form FK (compiles for about a minute on 2 cores)."""
    model = SkeletalModel.from_osim_string(_model_xml(CUSTOM))
    outputs = ("markers", "joint_centers", "body_rotations", "coordinates")
    fk = model.compiled_fk(outputs=outputs)
    q = 3.0 * torch.rand(4, 16, model.n_coordinates, dtype=torch.float64) - 1.5  # every spline piece and both extrapolations
    scales = 0.9 + 0.2 * torch.rand(4, 16, len(model.body_names), 3, dtype=torch.float64)
    out = fk(q, scales)
    ref = model(q, scales=scales)
    for name in outputs:
        torch.testing.assert_close(out[name], getattr(ref, name))
        assert out[name].is_contiguous()
    view = model.compiled_fk(outputs=("markers",), contiguous=False)(q)["markers"]
    torch.testing.assert_close(view, model(q).markers)
    assert not view.is_contiguous() and view.shape == (4, 16, len(model.marker_names), 3)
    with pytest.raises(UnknownNameError, match="FK output"):
        model.compiled_fk(outputs=("elbows",))
    with pytest.raises(ShapeError):
        fk(q[..., :-1])


def test_spline_forms_for_compilation_equal_the_searched_ones():
    """The comparison form the compiler fuses gives the same values as searchsorted + indexing."""
    x = torch.linspace(-3.0, 3.0, 241, dtype=torch.float64)
    for name in ("SimmSpline", "NaturalCubicSpline", "MultiplierFunction"):  # the cubic pieces
        f = FUNCTIONS[name]
        compiled = torch.compile(lambda t, f=f: f(t), backend="eager")  # dynamo traces the comparison branch
        torch.testing.assert_close(compiled(x), f(x), rtol=0, atol=1e-15)
        traced_slope = torch.compile(lambda t, f=f: f.value_and_derivative(t)[1], backend="eager")
        torch.testing.assert_close(traced_slope(x), f.value_and_derivative(x)[1], rtol=0, atol=1e-14)
    for name in ("PiecewiseLinearFunction", "GCVSpline"):
        f = FUNCTIONS[name]
        compiled = torch.compile(lambda t, f=f: f(t), backend="eager")
        torch.testing.assert_close(compiled(x), f(x), rtol=0, atol=1e-14)


def test_gcvspline_is_the_natural_interpolating_spline():
    knots = np.array([-2.0, -1.4, -0.5, 0.0, 0.6, 1.2, 2.0, 2.5])
    values = np.array([0.1, 0.3, -0.2, 0.0, 0.4, 0.2, -0.1, 0.3])
    for half_order in (1, 2, 3, 4):
        f = fn.GCVSpline(knots, values, half_order)
        x = torch.tensor(knots)
        torch.testing.assert_close(f(x), x.new_tensor(values), rtol=0, atol=1e-12)  # passes through the knots
        # beyond the knots: a polynomial of degree m - 1, so its m-th finite difference vanishes
        far = torch.linspace(3.0, 4.0, half_order + 2, dtype=torch.float64)
        assert abs(float(torch.diff(f(far), n=half_order)[0])) < 1e-9
    with pytest.raises(ValueRangeError):
        fn.GCVSpline(knots[:5], values[:5], 3)  # a quintic needs 6 knots
    with pytest.raises(ValueRangeError):
        fn.GCVSpline(knots, values, 5)  # OpenSim's degrees: 1, 3, 5, 7
