"""Pure domain logic: no Flask, no database. Tested with plain values."""
