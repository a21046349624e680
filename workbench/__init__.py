"""Streamlit glue shared by the pages: session state, the status strip, cached loaders.

Logic lives in ``genre``; this package only keeps per-tab state and draws common bits.
"""
