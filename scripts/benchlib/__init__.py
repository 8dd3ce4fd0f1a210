"""Pieces of the benchmarks in scripts/: the gunicorn they start, the HTTP client that times
pages, query hygiene, the database side (database.py), load runs and the reports they print."""
