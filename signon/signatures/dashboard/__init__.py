"""The coordinators' dashboard: where every organisation stands, the chart, the CSV."""
