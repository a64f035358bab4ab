"""The drawing page of ``python src/demo.py``: app.py serves it (FastAPI), static/ is the page."""
