"""
Squat analysis and classification
=================================

Repetitions, per-repetition metrics and rule-based feedback from a 3D track, then a squat-form
classifier trained on labelled repetitions (synthetic here; UI-PRMD's real repetitions in
``benchmarks/squat_uiprmd.py``).
"""

# %%
import numpy as np

from kinelift.analysis import analyze_squat, model_keypoints
from kinelift.core.table import TimeSeriesTable
from kinelift.lifting.motions import procedural_squats
from kinelift.skeleton.builtin import builtin_model

model = builtin_model()
motion = procedural_squats(np.random.default_rng(5), reps=3)
table = TimeSeriesTable(np.arange(motion.n_frames) / motion.fps, motion.coordinates, model.coordinate_names,
                        [model.coordinate_units[c] for c in model.coordinate_names])
points = model_keypoints(model, table)  # the model's anatomical points, metres, y up
analysis = analyze_squat(points, view="3d", up="y", progress=False)
print(analysis.summary())
analysis.metrics_in_degrees().round(1)

# %%
# A classifier of squat form: summary features of each repetition into a logistic regression,
# scored with leave-one-subject-out cross-validation.
from kinelift.analysis.classify import SummaryFeatureClassifier, leave_one_group_out
from kinelift.analysis.synthetic_squats import synthetic_squats

data = synthetic_squats(n_per_class=6, n_subjects=3, classes=("good", "bad_shallow", "bad_innner_thigh"), seed=1)
X = [seq.reshape(len(seq), -1) for seq in data.sequences]  # (frames, 19 joints x 3)
evaluation = leave_one_group_out(SummaryFeatureClassifier(), X, data.labels, data.groups, progress=False)
print(f"accuracy per held-out subject: {evaluation.per_group}")
print(f"pooled accuracy {evaluation.pooled.accuracy:.2f}; confusion (rows: true {evaluation.pooled.classes}):")
print(evaluation.pooled.confusion)
