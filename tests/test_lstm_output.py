"""What `make demo-lstm` prints: no Keras UserWarning from the trained model, the last epoch's top-1 first (issue 24)."""
import warnings


import pipeline_mobile_lstm
import train_mobile_lstm
from test_mobile_lstm import write_feature_set


def test_training_and_evaluating_the_lstm_warns_nothing(tmp_path):
    video_set = write_feature_set(tmp_path)
    config = train_mobile_lstm.LstmConfig(stream="both", weights="none", epochs=2, batch_size=8,
                                          learning_rate=1e-2, units=16, dropout=0.1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trained = train_mobile_lstm.train_mobile_lstm(video_set, config, verbose=0)
        train_mobile_lstm.evaluate_mobile_lstm(trained["best"], video_set, config, "val", tmp_path / "log" / "run")
    user = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert user == [], user  # was: "The structure of `inputs` doesn't match the expected structure" per batch


def test_the_table_leads_with_the_last_epoch(monkeypatch, capsys):
    result = {"top1": 0.55, "top5": 0.9, "num_clips": 60, "weights": "imagenet", "inference_ms": 12.0,
              "trained": {"last_val_accuracy": 0.517}, "seconds": {"train": 10.0}}
    monkeypatch.setattr(pipeline_mobile_lstm, "run", lambda video_set: result)
    assert pipeline_mobile_lstm.main([]) == 0
    header, _, row = capsys.readouterr().out.strip().splitlines()[-3:]
    cells = [cell.strip() for cell in row.split("|")]
    columns = [cell.strip() for cell in header.split("|")]
    assert columns[5] == "top-1 (last epoch)" and cells[5] == "51.7%"
    assert columns[6].startswith("top-1 (best epoch") and cells[6] == "55.0%"
