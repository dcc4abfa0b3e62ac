"""Analysis stages: pure functions from the query layer's aggregates to typed results."""
