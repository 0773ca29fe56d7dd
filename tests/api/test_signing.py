"""The partner-side signature helper refuses to verify without a replay window."""

import pytest

from loans.api import signing

BODY = b'{"event":"application.decided"}'


@pytest.mark.parametrize("tolerance", [0, -1, 0.0, None, False, "300"])
def test_verify_refuses_a_tolerance_that_would_switch_the_replay_check_off(tolerance):
    header = signing.sign(BODY, "whsec_x", timestamp=1_700_000_000)
    with pytest.raises(ValueError, match="tolerance must be a positive number of seconds"):
        signing.verify(BODY, header, "whsec_x", tolerance=tolerance, now=1_700_000_000)


def test_a_replayed_delivery_is_refused_however_old():
    # a delivery captured years ago: with tolerance=0 it used to verify forever
    header = signing.sign(BODY, "whsec_x", timestamp=1_000_000_000)
    with pytest.raises(signing.SignatureVerificationError, match="tolerance window"):
        signing.verify(BODY, header, "whsec_x", now=1_700_000_000)
    assert signing.verify(BODY, header, "whsec_x", tolerance=1, now=1_000_000_001) == 1_000_000_000


def test_the_helper_needs_only_the_standard_library():
    import ast
    import sys
    from pathlib import Path

    tree = ast.parse(Path(signing.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
