"""The skeletal-model layer: OpenSim models as batched, differentiable forward kinematics."""

from kinelift.skeleton.model import FKResult, SkeletalModel
from kinelift.skeleton.osim_parser import parse_osim, parse_osim_string
from kinelift.skeleton.spec import ModelSpec

__all__ = ["FKResult", "ModelSpec", "SkeletalModel", "parse_osim", "parse_osim_string"]
