"""The option and sweep formats of the command lines."""

import pytest

from latentrw.specs import parse_option, parse_options, parse_sweep, parse_value


def test_values_options_and_sweeps():
    assert [parse_value(v) for v in ("5", ".5", "1e-3", "-8", "true", "js", '"x"')] == [5, 0.5, 0.001, -8, True, "js", "x"]
    assert parse_option("dgflow:divergence=js") == ("dgflow", "divergence", "js")
    assert parse_options(["drs:gamma=-5", "drs:percentile=90", "sir:k=5"]) == {"drs": {"gamma": -5, "percentile": 90},
                                                                              "sir": {"k": 5}}
    assert parse_sweep("drs:gamma=-8,-5.5,.5") == ("drs", "gamma", (-8, -5.5, 0.5))
    for bad in ("drs", "drs:gamma", "drs:gamma=", ":gamma=1"):
        with pytest.raises(ValueError):
            parse_sweep(bad)
    with pytest.raises(ValueError, match="numbers"):
        parse_sweep("dgflow:divergence=kl,js")
    with pytest.raises(ValueError, match="SAMPLER:KEY=VALUE"):
        parse_option("steps=5")
