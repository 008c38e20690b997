//! Tests of the compute kinds against the emulator.
