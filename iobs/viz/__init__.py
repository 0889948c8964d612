"""Pure Plotly figure builders: arrays in, ``plotly.graph_objects.Figure`` out (no
Streamlit, no solver calls). One table of method labels and colours: :mod:`iobs.viz.style`."""
