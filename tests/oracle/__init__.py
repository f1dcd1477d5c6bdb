"""An independent oracle for round trips: plain save, fresh-interpreter reload, own tolerances.

It must share no code with the plugin under test (tests/test_oracle.py checks its imports).
"""

from .plain import CROSS_BACKEND_FORMATS, FORMATS, OracleVerdict, config_rebuild_verdict, oracle_verdicts

__all__ = ["CROSS_BACKEND_FORMATS", "FORMATS", "OracleVerdict", "config_rebuild_verdict", "oracle_verdicts"]
