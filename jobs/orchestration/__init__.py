"""Glue between schedulers (Airflow, spark-submit) and the pipeline steps.

DAG files stay thin: they import only `airflow.sdk` and this package's light
modules (`assets`, `flows`) at parse time; everything heavy (Spark, pandas,
the step functions) is imported inside the task callables in `tasks`.
"""
