import psycopg


def test_fresh_database_url_is_an_empty_connectable_database(fresh_database_url: str) -> None:
    with psycopg.connect(fresh_database_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert tables == (0,)
