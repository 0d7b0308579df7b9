//! insta snapshots of every request body the client sends (random fields redacted).
