"""The role-contract suite: the same cases against every connector package of a role and its
sandbox, each connector joining through its `tests/connectors/<vendor>/contract_harness.py`."""
