//! The rows of the table, grouped by what they exercise.

pub mod durable;
pub mod import;
pub mod memory;
pub mod read;
