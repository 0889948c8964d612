"""Streamlit helpers for app.py and the page scripts (the only package besides pages/ that
imports Streamlit): URL-bound widgets, lecture mode, downloads, the app shell, and the one
module that touches Streamlit internals."""
