//! lazuli's kernel library: everything the kernel binaries (`lazuli`, `ktest`) share.
#![no_std]
#![feature(abi_x86_interrupt)]

pub mod serial;
