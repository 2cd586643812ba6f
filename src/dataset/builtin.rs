//! The built-in synthetic face set (generator: next commit).
