"""Pieces of the page benchmark (scripts/bench_pages.py): the gunicorn it starts, the HTTP
client that times pages, and the query-hygiene check."""
