//! End-to-end tests of the armistice binary live in `tests/tests/`.
