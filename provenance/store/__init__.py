"""The evidence store: content-addressed files, the hash-chained ledger that records
every capture, witness, OCR and time-stamp, and the hashing and Merkle trees under both."""
