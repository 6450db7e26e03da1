//! Bot Framework token validation (being written).
