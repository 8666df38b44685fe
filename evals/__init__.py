"""Answer-quality evaluation: suites (suite.py), pure metrics (metrics.py), the runner and its report
(runner.py, report.py), retrieval-only peers (baselines.py), run comparison (compare.py) and `htp eval` (cli.py)."""
