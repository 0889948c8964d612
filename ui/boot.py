"""Imported first by app.py and by every page: the heavy modules, once per process.

On a fresh server, concurrent first visits run scripts in parallel threads, and deep links
even run page files directly (Streamlit's v1 page mode, see ``ui.state.ensure_frame``). Python's
per-module import locks then let two threads that import the same modules in different
orders deadlock, and the import machinery breaks the tie by handing one of them a
partially initialised module ("cannot import name ... from partially initialized module").
Importing this module is serialised by its own import lock: the first thread imports the
list below, in this order, while every other thread waits for it.
"""

import gc
import importlib

PRELOAD = ("numpy", "pandas", "plotly.graph_objects", "plotly.subplots", "iobs",
           "iobs.viz.figures", "iobs.viz.projection", "iobs.research.lessons",
           "iobs.research.phase", "iobs.viz.research", "iobs.research.reproduce",
           "iobs.prune.layerwise", "iobs.research.own_data", "iobs.viz.own_data",
           "ui.internals", "ui.state", "ui.widgets", "ui.output", "ui.shell", "ui.jobs",
           "ui.common")

for _name in PRELOAD:
    importlib.import_module(_name)

# The modules above live as long as the server: move their objects out of the garbage
# collector's view, so a full collection no longer walks them (a measured ~0.08 s pause
# that could land in any rerun).
gc.freeze()
