"""The learning-benchmark table is read correctly from run directories."""
from __future__ import annotations

import pandas as pd

from scripts.benchmark_algorithms import run_directory, score_at, table


def test_score_at_takes_the_last_evaluation_up_to_the_step_once_the_run_got_there():
    metrics = pd.DataFrame({"step": [50, 100, 100, 200], "eval_score": [None, 0.2, None, 0.6],
                            "reward_correlation": [None, 0.5, None, 0.9]})
    assert score_at(metrics, "eval_score", 150) == 0.2
    assert score_at(metrics, "reward_correlation", 200) == 0.9
    assert score_at(metrics, "eval_score", 300) is None


def test_table_summarises_seeds_and_marks_missing_runs(tmp_path):
    for seed, score in ((1, 0.4), (2, 0.8)):
        run = run_directory(tmp_path, "LSIQ", "hopper", 5, seed)
        run.mkdir(parents=True)
        pd.DataFrame({"step": [100], "eval_score": [score]}).to_csv(run / "metrics.csv", index=False)
    text = table(tmp_path, ["LSIQ", "GAIL"], "hopper", 5, [1, 2, 3], [100])
    assert "| LSIQ | 0.60 ± 0.20 (n=2) | – |" in text
    assert "| GAIL | – | – |" in text
