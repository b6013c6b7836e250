"""Next-day return models: windows of daily features, a Keras LSTM, honest baselines,
walk-forward evaluation and a registry in the lake. See jobs/models/README.md."""
