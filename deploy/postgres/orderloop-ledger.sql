-- Run once by the postgres image on a new data volume: the database of Orderloop's ledger,
-- beside Temporal's (the ledger creates and migrates its tables itself at start).
CREATE DATABASE orderloop;
