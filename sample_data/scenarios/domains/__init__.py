"""The domains scenarios are drawn from: lending, telecom churn, ads, delivery, housing, retail."""
