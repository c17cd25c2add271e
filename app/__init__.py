"""The Streamlit app's pages and shared state. Wiring only: everything computed comes from ``audit``."""
