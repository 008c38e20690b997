//! Integration tests of the AWS resource kinds and the engine against the AWS emulator.

mod compute;
mod delete;
mod engine;
mod kubernetes;
mod network;
mod support;
