"""Inverse kinematics and scaling on the skeletal layer (OpenSim's problems, batched in torch)."""

from kinelift.ik.differentiable import marker_ik
from kinelift.ik.inverse_kinematics import IKOptions, inverse_kinematics
from kinelift.ik.keypoints import KeypointScaling, fit_keypoint_scales, keypoint_ik, keypoint_skeleton
from kinelift.ik.result import IKResult
from kinelift.ik.scale_setup import ScaleSetup, read_scale_setup
from kinelift.ik.scale_tool import ScaleResult, run_scale_setup
from kinelift.ik.setup import IKSetup, read_ik_setup
from kinelift.ik.solver import LMOptions
from kinelift.ik.tool import run_ik, run_ik_setup
from kinelift.ik.tasks import CoordinateTask, MarkerTask, TaskSet, read_task_set

__all__ = [
    "CoordinateTask", "IKOptions", "IKResult", "IKSetup", "LMOptions", "MarkerTask", "TaskSet",
    "KeypointScaling", "ScaleResult", "ScaleSetup", "fit_keypoint_scales", "keypoint_ik", "keypoint_skeleton", "marker_ik",
    "read_scale_setup", "run_scale_setup", "inverse_kinematics", "read_ik_setup", "read_task_set", "run_ik", "run_ik_setup",
]  # fmt: skip
