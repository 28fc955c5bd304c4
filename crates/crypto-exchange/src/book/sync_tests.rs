//! Unit tests of the sans-IO book procedure.
