//! Tests of the engine kinds against the emulator.
