//! The integer network: golden bit-exact inference, requantization and accumulator bounds.
