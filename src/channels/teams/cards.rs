//! Adaptive Cards for Teams replies (being written).
