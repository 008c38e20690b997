//! Tests of the network kinds against the emulator.
