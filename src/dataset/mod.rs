//! Folder → pixel matrix (one face per column), and the built-in face set.
