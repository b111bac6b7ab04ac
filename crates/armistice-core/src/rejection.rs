//! Why an event may not be appended: a value a person can act on, not a failure.

use std::fmt;

/// A rejected event: the field at fault, when there is one, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The JSON field at fault (`against`, `location.lat`), if one is.
    pub field: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl Rejection {
    /// A rejection naming `field`.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Rejection {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A rejection of the whole event.
    pub fn event(message: impl Into<String>) -> Self {
        Rejection {
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field `{field}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Rejection {}
