"""The rule engine: parse, compile and match rules against articles. Pure: no I/O."""
