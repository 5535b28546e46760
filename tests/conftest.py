import pytest


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """An empty, private dataset cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("LATENTRW_CACHE", str(cache))
    return cache
