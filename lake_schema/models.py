"""The model registry and the predictions it scores."""

from lake_schema.spec import Column, Rule, TableSpec

MODEL_RUNS = TableSpec(
    name="gold.model_runs",
    description="One row per model training run: where the Keras model is, what it was trained on, "
    "its walk-forward out-of-sample metrics and every baseline's on the same rows.",
    columns=(
        Column("version", "string", False, "unique run id: <model name>-<UTC time>-<config fingerprint>"),
        Column("model_name", "string", False, "experiment name from the config (a model family)"),
        Column("config_fingerprint", "string", False, "hash of the experiment config; equal hashes are comparable"),
        Column("model_kind", "string", False, "global (one network, ticker embedding) or per_ticker"),
        Column("model_uri", "string", False, "folder under <lake_root>/models holding the Keras model(s)"),
        Column("created_at", "timestamp", False),
        Column("code_version", "string", False, "git commit of the code (suffix -dirty with local edits), or 'unknown'"),
        Column("train_start", "date", False, "first sample date the saved model learned from"),
        Column("train_end", "date", False, "last sample date the saved model learned from"),
        Column("data_end", "date", False, "last trading day in the input (the day scoring predicts from)"),
        Column("eval_start", "date", False, "first out-of-sample day of the walk-forward"),
        Column("eval_end", "date", False, "last out-of-sample day of the walk-forward"),
        Column("folds", "int", False, "walk-forward retrains (expanding window)"),
        Column("n_tickers", "int", False),
        Column("n_train_samples", "long", False, "samples the saved model was fitted on"),
        Column("hyperparameters", "string", False, "the full experiment config as JSON"),
        Column("rmse", "double", True, "LSTM out-of-sample RMSE of the next-day return"),
        Column("mae", "double", True),
        Column("directional_accuracy", "double", True),
        Column("ic", "double", True, "mean daily cross-sectional Pearson IC"),
        Column("ic_ci_low", "double", True, "95% interval of the mean daily IC (days as the unit)"),
        Column("ic_ci_high", "double", True),
        Column("rank_ic", "double", True, "mean daily cross-sectional Spearman IC"),
        Column("n_eval_rows", "long", False, "out-of-sample (ticker, day) rows every model was scored on"),
        Column("n_eval_days", "long", False),
        Column("random_walk_rmse", "double", True, "zero-return baseline on the same rows"),
        Column("beat_random_walk", "boolean", False, "LSTM RMSE below the random walk's out of sample"),
        Column("metrics_json", "string", False,
               "every model (lstm and baselines): metric -> {value, ci_low, ci_high, n, days}; plus folds"),
        Column("seconds", "double", True, "wall time of the training run"),
        Column("input_versions", "string", True,
               "the Delta version of every table the run read, as JSON {table: version}: "
               "`pulselake models reproduce` reads exactly these again"),
        Column("seed", "long", True, "the config's seed (every fit of the run starts from it)"),
        Column("library_versions", "string", True, "JSON {package: version} of the libraries the numbers depend on"),
    ),
    merge_key=("version",),
    rules=(
        Rule("train_before_eval_end", "train_start <= train_end AND eval_start <= eval_end", "ranges are ordered"),
    ),
)

PREDICTIONS = TableSpec(
    name="gold.predictions",
    description="Next-day return predictions per ticker from the registry's chosen model; flagged when "
    "no model has beaten the random walk out of sample.",
    columns=(
        Column("ticker", "string", False),
        Column("as_of_date", "date", False, "last trading day of data the prediction uses"),
        Column("target_date", "date", False, "the day predicted: the next weekday after as_of_date"),
        Column("as_of_month", "string", False, "YYYY-MM of as_of_date (partition)"),
        Column("predicted_return", "double", False, "predicted close-to-close return as_of_date -> target_date"),
        Column("prob_up", "double", False, "probability that the return is positive"),
        Column("model_version", "string", False, "gold.model_runs.version"),
        Column("as_of", "timestamp", False, "when the prediction was made"),
        Column("flagged", "boolean", False, "true when the model has NOT beaten the random walk out of sample"),
        Column("flag_reason", "string", True),
    ),
    partition_by=("as_of_month",),
    merge_key=("ticker", "as_of_date", "model_version"),
    rules=(Rule("prob_in_unit_interval", "prob_up BETWEEN 0 AND 1", "a probability"),),
)

LIVE_PREDICTIONS = TableSpec(
    name="gold.live_predictions",
    description="The freshness stream's intraday predictions: per symbol, the return over the next N minutes, "
    "from the 1-minute bars closed when it was made; flagged when the model has not beaten the random walk.",
    columns=(
        Column("symbol", "string", False),
        Column("predicted_at", "timestamp", False, "the window's last bar closed then: nothing later went in"),
        Column("target_at", "timestamp", False, "predicted_at + horizon: the time whose price is predicted"),
        Column("horizon_minutes", "int", False),
        Column("last_close", "double", False, "close of the window's last bar: the price the return applies to"),
        Column("predicted_return", "double", False, "predicted return from last_close to the price at target_at"),
        Column("prob_up", "double", False, "probability that the return is positive"),
        Column("model_version", "string", False, "gold.model_runs.version of the intraday model"),
        Column("flagged", "boolean", False, "true when the model has NOT beaten the random walk out of sample"),
        Column("flag_reason", "string", True),
        Column("scored_at", "timestamp", False, "wall-clock time the stream scored it"),
        Column("trade_date", "date", False),
    ),
    partition_by=("trade_date",),
    merge_key=("symbol", "predicted_at", "model_version"),
    rules=(
        Rule("live_prob_in_unit_interval", "prob_up BETWEEN 0 AND 1", "a probability"),
        Rule("target_after_prediction", "target_at > predicted_at", "a prediction is about a later time"),
    ),
)

LIVE_SCORECARD = TableSpec(
    name="gold.live_scorecard",
    description="The live predictions judged as their outcomes arrive: over each scope's 60 most recent resolved "
    "predictions of the last 5 trading days with predictions (a rolling window, not reset at midnight), the "
    "model's error, hit rate and IC beside the random walk's error, per symbol and overall ('*').",
    columns=(
        Column("scope", "string", False, "a symbol, or '*' for every symbol's window pooled"),
        Column("model_version", "string", False),
        Column("horizon_minutes", "int", False),
        Column("resolved", "long", False, "predictions in the window whose realised price has arrived"),
        Column("pending", "long", False, "predictions still waiting for their target time's price"),
        Column("rmse", "double", False, "root mean squared error of the predicted return"),
        Column("random_walk_rmse", "double", False, "the same for a zero-return forecast on the same predictions"),
        Column("mae", "double", False),
        Column("hit_rate", "double", True, "share of called directions that were right (zero forecasts and moves skipped)"),
        Column("hit_n", "long", False, "predictions the hit rate counts"),
        Column("ic", "double", True, "Pearson correlation of predicted and realised returns; NULL under 3 rows or no spread"),
        Column("mse_diff", "double", False, "mean of the model's squared error less the random walk's (< 0: better)"),
        Column("mse_diff_ci_low", "double", True, "95% interval of mse_diff (Newey-West over the horizon's overlap)"),
        Column("mse_diff_ci_high", "double", True),
        Column("beats_random_walk", "boolean", True, "true or false once at least 30 predictions are resolved and "
               "the interval of mse_diff excludes 0; NULL until then: not enough evidence either way"),
        Column("first_predicted_at", "timestamp", False),
        Column("last_predicted_at", "timestamp", False),
        Column("updated_at", "timestamp", False),
    ),
    merge_key=("scope", "model_version"),
)
