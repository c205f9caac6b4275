"""Sphinx configuration of the kinelift documentation (``make docs``; warnings are errors)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import kinelift  # noqa: E402

project = "kinelift"
author = "the kinelift developers"
copyright = "2026, the kinelift developers"
release = version = kinelift.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "tutorials/*.ipynb", "tutorials/*.py", "tutorials/*.zip", "tutorials/*.md5", "sg_execution_times.rst"]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing"]

autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    # scikit-learn's machinery on the classifiers (documented by scikit-learn, with links into its own site)
    "exclude-members": "score,get_params,set_params,get_metadata_routing,set_fit_request,set_score_request,"
    "set_predict_request,set_predict_proba_request",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples" / "tutorials"),
    "gallery_dirs": "tutorials",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "show_signature": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"kinelift {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []
